//! draft/multiline: one client's batch while it is being sent, and the
//! rules it must keep (IRCv3 multiline, as Ergo enforces them): every line
//! a PRIVMSG, or every line a NOTICE, to the batch's target; no blank line
//! marked `draft/multiline-concat`; not only blank lines; at most
//! `max-bytes` of text (a line feed counted between lines not concatenated)
//! and `max-lines` lines. The text is kept in one string, so a batch costs
//! two allocations however many lines it has, and never more than the
//! limits allow.
//!
//! Plain data and checks, no I/O; the BATCH handler
//! (`handlers::multiline`) decides what happens on a failure. A batch lives
//! behind the client's `Extra` box. Imports `proto::casemap` only.

use crate::proto::casemap;

/// The batch type (and capability name).
pub const BATCH_TYPE: &str = "draft/multiline";
/// The tag that joins a line to the previous one without a line feed.
pub const CONCAT_TAG: &str = "draft/multiline-concat";

/// The configured bounds of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_lines: usize,
}

/// Why a batch was refused: a `FAIL BATCH <code>` with Ergo's wording
/// (the spec's where Ergo has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fail {
    MaxBytes(usize),
    MaxLines(usize),
    /// The batch's target, the target a line named.
    InvalidTarget(String, String),
    Invalid(&'static str),
}

impl Fail {
    /// Ergo's text for a malformed batch.
    pub const INVALID: Fail = Fail::Invalid("Invalid multiline batch");

    /// The standard-reply code, its context parameters and text.
    pub fn reply(&self) -> (&'static str, Vec<String>, String) {
        match self {
            Fail::MaxBytes(n) => (
                "MULTILINE_MAX_BYTES",
                vec![n.to_string()],
                format!("Multiline batch byte limit {n} exceeded"),
            ),
            Fail::MaxLines(n) => (
                "MULTILINE_MAX_LINES",
                vec![n.to_string()],
                format!("Multiline batch line limit {n} exceeded"),
            ),
            Fail::InvalidTarget(batch, given) => (
                "MULTILINE_INVALID_TARGET",
                vec![batch.clone(), given.clone()],
                "Invalid multiline target".to_string(),
            ),
            Fail::Invalid(text) => ("MULTILINE_INVALID", vec![], (*text).to_string()),
        }
    }
}

/// One line of a batch: where its text ends in `Batch::text`, and whether
/// it continues the previous line (`draft/multiline-concat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    end: u32,
    concat: bool,
}

/// A client's batch, from `BATCH +ref` to `BATCH -ref`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The client's reference tag (`BATCH +<reference>`).
    pub reference: String,
    /// The target as the client named it on `BATCH +`.
    pub target: String,
    /// The label of a labeled `BATCH +` (labeled-response): the label of
    /// the response to the whole batch.
    pub label: Option<String>,
    /// Client-only tags of `BATCH +`, as sent (still escaped): they belong
    /// to the whole message.
    pub client_tags: Vec<(String, String)>,
    /// "PRIVMSG" or "NOTICE", set by the first line.
    pub command: Option<&'static str>,
    /// The batch failed: its remaining lines and its `BATCH -` are dropped
    /// without a word (the client was told once).
    pub failed: bool,
    /// Lines admitted without fakelag while the batch was open (Ergo
    /// suspends fakelag for a batch and bills it at the end).
    pub free_lines: u32,
    /// The lines' text, one after the other.
    text: String,
    pieces: Vec<Piece>,
    /// Bytes counted against `max-bytes`: text plus a line feed between
    /// lines not concatenated (Ergo's count).
    bytes: usize,
}

impl Batch {
    pub fn new(
        reference: &str,
        target: &str,
        label: Option<String>,
        client_tags: Vec<(String, String)>,
    ) -> Batch {
        Batch {
            reference: reference.to_owned(),
            target: target.to_owned(),
            label,
            client_tags,
            ..Batch::default()
        }
    }

    /// Is the batch still taking lines (not failed)?
    pub fn is_open(&self) -> bool {
        !self.failed
    }

    /// Adds one line: `command` (PRIVMSG or NOTICE) to `target`, with
    /// `text`, continuing the previous line when `concat`. On an error
    /// nothing is added.
    pub fn push(
        &mut self,
        command: &'static str,
        target: &str,
        text: &str,
        concat: bool,
        limits: Limits,
    ) -> Result<(), Fail> {
        if casemap::fold(target) != casemap::fold(&self.target) {
            return Err(Fail::InvalidTarget(self.target.clone(), target.to_owned()));
        }
        match self.command {
            Some(c) if c != command => return Err(Fail::INVALID),
            _ => {}
        }
        if concat && text.is_empty() {
            return Err(Fail::Invalid(
                "Cannot send a blank line with the multiline concat tag",
            ));
        }
        let newline = usize::from(!concat && !self.pieces.is_empty());
        let bytes = self.bytes + newline + text.len();
        if bytes > limits.max_bytes {
            return Err(Fail::MaxBytes(limits.max_bytes));
        }
        if self.pieces.len() >= limits.max_lines {
            return Err(Fail::MaxLines(limits.max_lines));
        }
        self.command = Some(command);
        self.bytes = bytes;
        self.text.push_str(text);
        // max-bytes (at most 65536) bounds the text, so the end fits.
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.pieces.push(Piece { end, concat });
        Ok(())
    }

    /// Checks a batch being closed: it must have a line that is not blank.
    pub fn check_complete(&self) -> Result<(), Fail> {
        if self.lines().any(|(text, _)| !text.is_empty()) {
            Ok(())
        } else {
            Err(Fail::INVALID)
        }
    }

    /// The lines, in order: text and whether it continues the previous one.
    pub fn lines(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let mut start = 0;
        self.pieces.iter().map(move |p| {
            let end = p.end as usize;
            let text = self.text.get(start..end).unwrap_or("");
            start = end;
            (text, p.concat)
        })
    }

    pub fn line_count(&self) -> usize {
        self.pieces.len()
    }

    /// Forgets the lines of a failed batch (its memory is freed; the
    /// reference stays so its last lines can be recognised and dropped).
    pub fn fail(&mut self) {
        self.failed = true;
        self.text = String::new();
        self.pieces = Vec::new();
        self.label = None;
        self.client_tags = Vec::new();
    }

    /// The fakelag owed for the batch once it closes, as Ergo bills it: a
    /// touch per 512 bytes of text (at least one), or 60 bytes a line for
    /// many short lines, whichever is more.
    pub fn fakelag_bill(&self) -> u32 {
        let by_bytes = self.bytes / 512 + 1;
        let by_lines = self.pieces.len() * 60 / 512;
        u32::try_from(by_bytes.max(by_lines)).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 40,
        max_lines: 4,
    };

    fn batch() -> Batch {
        Batch::new("r1", "#Chan", None, vec![])
    }

    #[test]
    fn lines_keep_their_text_and_concat_marks() {
        let mut b = batch();
        b.push("PRIVMSG", "#chan", "hello", false, LIMITS).unwrap();
        b.push("PRIVMSG", "#CHAN", "", false, LIMITS).unwrap();
        b.push("PRIVMSG", "#chan", "how is ", false, LIMITS)
            .unwrap();
        b.push("PRIVMSG", "#chan", "everyone?", true, LIMITS)
            .unwrap();
        let lines: Vec<(&str, bool)> = b.lines().collect();
        assert_eq!(
            lines,
            [
                ("hello", false),
                ("", false),
                ("how is ", false),
                ("everyone?", true)
            ]
        );
        assert_eq!(b.command, Some("PRIVMSG"));
        assert_eq!(b.check_complete(), Ok(()));
        // hello \n \n how is everyone? : 5 + 1 + 0 + 1 + 7 + 9
        assert_eq!(b.bytes, 23);
    }

    #[test]
    fn each_rule_has_its_failure() {
        let mut b = batch();
        assert_eq!(
            b.push("PRIVMSG", "#other", "x", false, LIMITS),
            Err(Fail::InvalidTarget("#Chan".into(), "#other".into()))
        );
        b.push("PRIVMSG", "#chan", "x", false, LIMITS).unwrap();
        assert_eq!(
            b.push("NOTICE", "#chan", "y", false, LIMITS),
            Err(Fail::INVALID)
        );
        assert_eq!(
            b.push("PRIVMSG", "#chan", "", true, LIMITS),
            Err(Fail::Invalid(
                "Cannot send a blank line with the multiline concat tag"
            ))
        );
        // 1 + 1 + 38 = 40 fits; one more byte does not.
        b.push("PRIVMSG", "#chan", &"a".repeat(38), false, LIMITS)
            .unwrap();
        assert_eq!(
            b.push("PRIVMSG", "#chan", "b", true, LIMITS),
            Err(Fail::MaxBytes(40))
        );
        b.push("PRIVMSG", "#chan", "", false, LIMITS).unwrap_err();
        let mut b = batch();
        for _ in 0..4 {
            b.push("PRIVMSG", "#chan", "", false, LIMITS).unwrap();
        }
        assert_eq!(
            b.push("PRIVMSG", "#chan", "", false, LIMITS),
            Err(Fail::MaxLines(4))
        );
        assert_eq!(b.line_count(), 4, "a refused line is not kept");
        assert_eq!(b.check_complete(), Err(Fail::INVALID), "blank lines only");
        assert_eq!(batch().check_complete(), Err(Fail::INVALID), "no lines");
    }

    #[test]
    fn replies_use_ergos_words() {
        assert_eq!(
            Fail::MaxBytes(4096).reply(),
            (
                "MULTILINE_MAX_BYTES",
                vec!["4096".to_string()],
                "Multiline batch byte limit 4096 exceeded".to_string()
            )
        );
        assert_eq!(
            Fail::MaxLines(100).reply().2,
            "Multiline batch line limit 100 exceeded"
        );
        assert_eq!(
            Fail::InvalidTarget("#a".into(), "#b".into()).reply(),
            (
                "MULTILINE_INVALID_TARGET",
                vec!["#a".to_string(), "#b".to_string()],
                "Invalid multiline target".to_string()
            )
        );
        assert_eq!(Fail::INVALID.reply().2, "Invalid multiline batch");
    }

    #[test]
    fn the_bill_follows_bytes_or_lines() {
        let limits = Limits {
            max_bytes: 65_536,
            max_lines: 1000,
        };
        let mut b = batch();
        assert_eq!(b.fakelag_bill(), 1, "an empty batch still costs a touch");
        b.push("PRIVMSG", "#chan", &"x".repeat(1100), false, limits)
            .unwrap();
        assert_eq!(b.fakelag_bill(), 3);
        let mut b = batch();
        for _ in 0..100 {
            b.push("PRIVMSG", "#chan", "hi", false, limits).unwrap();
        }
        // 299 bytes → 1 by bytes; 100 lines × 60 / 512 → 11.
        assert_eq!(b.fakelag_bill(), 11);
    }

    #[test]
    fn a_failed_batch_frees_its_lines() {
        let mut b = Batch::new("r", "#c", Some("l".into()), vec![("+x".into(), "".into())]);
        b.push("PRIVMSG", "#c", "text", false, LIMITS).unwrap();
        assert!(b.is_open());
        b.fail();
        assert!(!b.is_open());
        assert_eq!(b.lines().count(), 0);
        assert!(b.label.is_none() && b.client_tags.is_empty());
        assert_eq!(b.reference, "r");
    }
}
