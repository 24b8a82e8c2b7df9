//! BATCH (IRCv3 `draft/multiline`): a client sends one message as several
//! lines between `BATCH +ref draft/multiline <target>` and `BATCH -ref`;
//! the server collects them (`state::multiline::Batch`, in the client's
//! `Extra` box), checks them, and delivers the whole at `BATCH -`.
//!
//! Delivery runs the checks of a plain PRIVMSG/NOTICE to the target
//! (`messaging::route`). Recipients with `draft/multiline` and `batch` get
//! the batch (`BATCH +<server ref>` with msgid, time, bot and client-only
//! tags for their tag form, the lines tagged `batch=<ref>`, `BATCH -`);
//! others get each non-blank line as a plain message, the first with the
//! msgid and client-only tags. Each form of each line is written once.
//!
//! As Ergo: a labeled `BATCH +` gets no ACK, its label labels the response
//! to the batch (the echoed batch, or the failure); only BATCH and batched
//! PRIVMSG/NOTICE lines may come while a batch is open; NOTICE batches
//! fail silently; fakelag is suspended for the batch's lines and the batch
//! is billed when it ends (`State::admit`). Unlike Ergo, a failed batch's
//! remaining lines are dropped quietly instead of failing one by one.
//! Imports `proto` and `state`.

use std::rc::Rc;
use std::time::Instant;

use crate::proto::message::unescape_tag_value;
use crate::proto::numeric::RPL_AWAY;
use crate::proto::{caps, write, Message};
use crate::state::error::{CmdError, CmdResult};
use crate::state::event::{is_client_tag, Event};
use crate::state::handlers::messaging::{self, is_ctcp};
use crate::state::labels::Capture;
use crate::state::multiline::{Batch, Fail, Limits, BATCH_TYPE, CONCAT_TAG};
use crate::state::{ClientId, State};

/// `BATCH +<reference> draft/multiline <target>` | `BATCH -<reference>`
pub fn batch(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let tag = m.param(0);
    if let Some(reference) = tag.strip_prefix('+') {
        open(s, id, m, reference)
    } else if let Some(reference) = tag.strip_prefix('-') {
        close(s, id, reference, now)
    } else {
        abandon(s, id, Fail::INVALID)
    }
}

/// A PRIVMSG or NOTICE line carrying a `batch` tag (`raw_reference`, as
/// sent): one line of the client's open batch.
pub fn absorb(
    s: &mut State,
    id: ClientId,
    m: &Message,
    command: &'static str,
    raw_reference: &str,
) -> CmdResult {
    let mut reference = String::new();
    unescape_tag_value(raw_reference, &mut reference);
    let Some(mut b) = take(s, id) else {
        return refuse(
            command == "NOTICE",
            Fail::Invalid("Incorrect batch tag sent"),
        );
    };
    // A NOTICE batch fails silently (no reply to a NOTICE, as Ergo).
    let silent = b.command.unwrap_or(command) == "NOTICE";
    if b.reference != reference || reference.is_empty() {
        if b.is_open() {
            fail_open(s, id, b, Fail::Invalid("Incorrect batch tag sent"), silent);
            return Ok(());
        }
        return refuse(silent, Fail::Invalid("Incorrect batch tag sent"));
    }
    if !b.is_open() {
        // A line of a batch that already failed: dropped quietly.
        put(s, id, b, 0);
        return Ok(());
    }
    if m.params.len() < 2 {
        fail_open(s, id, b, Fail::INVALID, silent);
        return Ok(());
    }
    let concat = m.tag(CONCAT_TAG).is_some();
    match b.push(command, m.param(0), m.param(1), concat, limits(s)) {
        Ok(()) => put(s, id, b, 0),
        Err(fail) => fail_open(s, id, b, fail, silent),
    }
    Ok(())
}

/// Called for every command of a client before it runs: while a batch is
/// open only BATCH and batched PRIVMSG/NOTICE lines may come (Ergo); any
/// other command fails the batch and is not run. QUIT drops the batch and
/// quits. Returns true when the command must not run.
pub fn intercepts(s: &mut State, id: ClientId, m: &Message) -> bool {
    let open = s
        .clients
        .get(id)
        .and_then(|c| c.extra.as_deref())
        .and_then(|e| e.multiline.as_deref())
        .is_some_and(Batch::is_open);
    if !open {
        return false;
    }
    let cmd = m.command;
    let batched = (cmd.eq_ignore_ascii_case("PRIVMSG") || cmd.eq_ignore_ascii_case("NOTICE"))
        && m.tag("batch").is_some();
    if batched || cmd.eq_ignore_ascii_case("BATCH") {
        return false;
    }
    let Some(b) = take(s, id) else {
        return false;
    };
    if cmd.eq_ignore_ascii_case("QUIT") {
        return false; // the batch is dropped with the client
    }
    let fail = Fail::Invalid("Command not allowed during a multiline batch");
    fail_open(s, id, b, fail, false);
    true
}

/// `BATCH +<reference> draft/multiline <target>`
fn open(s: &mut State, id: ClientId, m: &Message, reference: &str) -> CmdResult {
    if let Some(old) = take(s, id) {
        if old.is_open() {
            // No nesting: both batches end (Ergo).
            let silent = old.command == Some("NOTICE");
            fail_open(s, id, old, Fail::INVALID, silent);
            discard(s, id);
            return Ok(());
        }
    }
    let c = &s.clients[id];
    let capable = c.has_cap(caps::MULTILINE) && c.has_cap(caps::BATCH);
    let target = m.param(2);
    if !capable || m.param(1) != BATCH_TYPE || reference.is_empty() || target.is_empty() {
        return Err(fail_error(&Fail::INVALID));
    }
    // A labeled BATCH + is answered by the batch's response, not an ACK.
    let label = s
        .capture
        .take_if(|cap| cap.client == id)
        .map(Capture::into_label);
    let client_tags = m
        .tags()
        .filter(|(k, _)| is_client_tag(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let b = Batch::new(reference, target, label, client_tags);
    put(s, id, Box::new(b), 0);
    Ok(())
}

/// `BATCH -<reference>`
fn close(s: &mut State, id: ClientId, reference: &str, now: Instant) -> CmdResult {
    let Some(mut b) = take(s, id) else {
        return Err(fail_error(&Fail::INVALID));
    };
    let silent = b.command == Some("NOTICE");
    if !b.is_open() {
        // The end of a batch that already failed (and was billed).
        return if b.reference == reference {
            Ok(())
        } else {
            refuse(silent, Fail::INVALID)
        };
    }
    if b.reference != reference {
        fail_open(s, id, b, Fail::INVALID, silent);
        discard(s, id);
        return Ok(());
    }
    if let Err(fail) = b.check_complete() {
        fail_open(s, id, b, fail, silent);
        discard(s, id);
        return Ok(());
    }
    owe(s, id, b.fakelag_bill());
    // The response to the batch goes out under the label of `BATCH +`.
    let label = b.label.take();
    let labeled = match label {
        Some(l) if s.clients[id].has_cap(caps::LABELED_RESPONSE) => {
            s.capture = Some(Capture::new(id, &l));
            true
        }
        _ => false,
    };
    deliver(s, id, &b, now);
    if labeled {
        s.end_label();
    }
    Ok(())
}

/// A malformed `BATCH` line: any open batch ends with it (Ergo).
fn abandon(s: &mut State, id: ClientId, fail: Fail) -> CmdResult {
    match take(s, id) {
        Some(b) if b.is_open() => {
            let silent = b.command == Some("NOTICE");
            fail_open(s, id, b, fail, silent);
            discard(s, id);
            Ok(())
        }
        _ => Err(fail_error(&fail)),
    }
}

/// Fails client `id`'s open batch: bills its fakelag, tells the client
/// (under the label of `BATCH +`, whose response this is) unless
/// `silent`, and keeps it as failed so its last lines go quietly.
fn fail_open(s: &mut State, id: ClientId, mut b: Box<Batch>, fail: Fail, silent: bool) {
    let label = b.label.take();
    let bill = b.fakelag_bill();
    b.fail();
    put(s, id, b, bill);
    if silent {
        return;
    }
    let err = fail_error(&fail);
    let labeled = match label {
        Some(l) if s.clients[id].has_cap(caps::LABELED_RESPONSE) => {
            s.capture = Some(Capture::new(id, &l));
            true
        }
        _ => false,
    };
    s.reply_error(id, &err);
    if labeled {
        s.end_label();
    }
}

/// A failure with no batch behind it: an error reply for the line (none
/// for a NOTICE).
fn refuse(silent: bool, fail: Fail) -> CmdResult {
    if silent {
        Ok(())
    } else {
        Err(fail_error(&fail))
    }
}

fn fail_error(fail: &Fail) -> CmdError {
    let (code, context, text) = fail.reply();
    CmdError::Fail("BATCH", code, context, text)
}

fn limits(s: &State) -> Limits {
    Limits {
        max_bytes: s.config.limits.multiline_max_bytes,
        max_lines: s.config.limits.multiline_max_lines,
    }
}

/// Takes client `id`'s batch out of its `Extra` box.
fn take(s: &mut State, id: ClientId) -> Option<Box<Batch>> {
    let c = s.clients.get_mut(id)?;
    let b = c.extra.as_deref_mut()?.multiline.take();
    c.tidy_extra();
    b
}

/// Puts a batch back, adding `bill` to the fakelag owed.
fn put(s: &mut State, id: ClientId, b: Box<Batch>, bill: u32) {
    if let Some(c) = s.clients.get_mut(id) {
        let e = c.extra_mut();
        e.multiline = Some(b);
        e.fakelag_debt = e.fakelag_debt.saturating_add(bill);
    }
}

/// Adds to the fakelag client `id` owes.
fn owe(s: &mut State, id: ClientId, bill: u32) {
    if let Some(c) = s.clients.get_mut(id) {
        let e = c.extra_mut();
        e.fakelag_debt = e.fakelag_debt.saturating_add(bill);
    }
}

/// Forgets client `id`'s batch (failed and told; no lines of it will come).
fn discard(s: &mut State, id: ClientId) {
    drop(take(s, id));
}

/// The lines one batch is delivered as: each form written once, shared by
/// every recipient of that form.
struct Forms<'a> {
    /// `BATCH +ref draft/multiline target`, with the message's tags.
    opening: Event<'a>,
    /// The lines tagged `batch=ref`, then `BATCH -ref`.
    body: Rc<[u8]>,
    /// The fallback: each non-blank line as a plain message.
    fallback: Vec<Event<'a>>,
}

impl Forms<'_> {
    fn send(&mut self, s: &mut State, to: ClientId) {
        let Some(c) = s.clients.get(to) else {
            return;
        };
        if c.has_cap(caps::MULTILINE) && c.has_cap(caps::BATCH) {
            s.send_event(to, &mut self.opening);
            s.send_shared(to, &self.body);
        } else {
            for ev in &mut self.fallback {
                s.send_event(to, ev);
            }
        }
    }
}

/// Delivers a complete batch as a PRIVMSG/NOTICE to its target would be.
fn deliver(s: &mut State, id: ClientId, b: &Batch, now: Instant) {
    let command = b.command.unwrap_or("PRIVMSG");
    let notice = command == "NOTICE";
    let ctcp = b.lines().any(|(text, _)| is_ctcp(text));
    let route = match messaging::route(s, id, &b.target, ctcp) {
        Ok(r) => r,
        Err(e) => {
            if !notice {
                s.reply_error(id, &e);
            }
            return;
        }
    };
    s.clients[id].last_message = s.clock.stamp(now);
    let mask = s.clients[id].mask();
    let echo = s.clients[id].has_cap(caps::ECHO_MESSAGE);
    let reference = s.next_id();
    let msgid = s.next_id();
    let time = s.time_text();
    let tags: Vec<(&str, &str)> = b
        .client_tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let open_ref = format!("+{reference}");
    let open_middle = [open_ref.as_str(), BATCH_TYPE, route.target.as_str()];
    let mut opening = Event::new(Some(&mask), "BATCH", &open_middle, None);
    opening.time = Some(time.clone());
    opening.msgid = Some(msgid.clone());
    opening.client_tags.clone_from(&tags);
    s.tag_sender(id, &mut opening);

    let target = [route.target.as_str()];
    let mut fallback = Vec::new();
    for (i, (text, _)) in b.lines().filter(|(t, _)| !t.is_empty()).enumerate() {
        let mut ev = Event::new(Some(&mask), command, &target, Some(text));
        ev.time = Some(time.clone());
        if i == 0 {
            // The message's id and client-only tags go on the first line
            // (the spec's MUST). Not on the others: 4 KB of client tags
            // copied onto every line would let one batch fill the send
            // queues of a whole channel.
            ev.msgid = Some(msgid.clone());
            ev.client_tags.clone_from(&tags);
        }
        s.tag_sender(id, &mut ev);
        fallback.push(ev);
    }

    let mut forms = Forms {
        opening,
        body: body(&mask, command, &route.target, &reference, b),
        fallback,
    };
    for &r in &route.recipients {
        forms.send(s, r);
    }
    if echo {
        forms.send(s, id);
    }
    if let (Some((nick, away)), false) = (&route.away, notice) {
        s.numeric(id, RPL_AWAY, &[nick], away);
    }
}

/// The inside of a delivered batch and its end, written once for every
/// `draft/multiline` recipient.
fn body(mask: &str, command: &str, target: &str, reference: &str, b: &Batch) -> Rc<[u8]> {
    let per_line = mask.len() + command.len() + target.len() + reference.len() + 40;
    let mut out = Vec::with_capacity(b.line_count() * per_line + 512);
    for (text, concat) in b.lines() {
        if concat {
            write::raw_tags(&mut out, &[("batch", reference), (CONCAT_TAG, "")]);
        } else {
            write::raw_tags(&mut out, &[("batch", reference)]);
        }
        write::line(&mut out, Some(mask), command, &[target], Some(text));
    }
    let close = format!("-{reference}");
    write::line(&mut out, Some(mask), "BATCH", &[&close], None);
    Rc::from(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::proto::caps;
    use crate::state::testutil::{config, Harness};
    use crate::state::ClientId;

    const MULTI: u64 = caps::MULTILINE | caps::BATCH | caps::MESSAGE_TAGS;
    const TAGGED: u64 = caps::MESSAGE_TAGS | caps::SERVER_TIME;

    /// The addresses of the chunks queued for `id` (a shared line is the
    /// same chunk in every queue it was pushed to).
    fn chunks(h: &Harness, id: ClientId) -> Vec<*const u8> {
        let mut out = Vec::new();
        h.s.clients[id].sendq.slices(&mut out, usize::MAX);
        out.iter().map(|s| s.as_ptr()).collect()
    }

    fn send_batch(h: &mut Harness, id: ClientId, target: &str, lines: &[&str]) {
        h.line(id, &format!("@+x=1 BATCH +r draft/multiline {target}"));
        for l in lines {
            h.line(id, l);
        }
        h.line(id, "BATCH -r");
    }

    #[test]
    fn each_form_is_written_once_and_shared() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.s.clients[a].caps |= MULTI;
        let ids: Vec<ClientId> = ["b1", "b2", "c1", "c2", "d1", "d2"]
            .iter()
            .map(|n| h.client(n))
            .collect();
        for (i, &id) in ids.iter().enumerate() {
            h.s.clients[id].caps |= [MULTI, TAGGED, 0][i / 2];
            h.put_in(id, "#c", 0);
        }
        h.put_in(a, "#c", 0);
        send_batch(
            &mut h,
            a,
            "#c",
            &[
                "@batch=r PRIVMSG #c :one",
                "@batch=r PRIVMSG #c :",
                "@batch=r;draft/multiline-concat PRIVMSG #c :two",
            ],
        );
        assert!(h.take(a).is_empty(), "no echo, no ACK, no reply");
        for pair in ids.chunks(2) {
            let (x, y) = (chunks(&h, pair[0]), chunks(&h, pair[1]));
            assert!(!x.is_empty());
            assert_eq!(x, y, "the same shared lines for one form");
        }
        // Two chunks for a batch (BATCH + and the body), one per fallback line.
        assert_eq!(chunks(&h, ids[0]).len(), 2);
        assert_eq!(chunks(&h, ids[2]).len(), 2);
        let b = h.take(ids[0]);
        assert_eq!(b.len(), 5, "{b:?}");
        assert!(
            b[0].starts_with("@msgid=") && b[0].contains(";+x=1 :alice!"),
            "{b:?}"
        );
        assert!(b[3].starts_with("@batch=") && b[3].contains(";draft/multiline-concat :alice!"));
        let c = h.take(ids[2]);
        assert!(
            c[0].starts_with("@time=")
                && c[0].contains(";msgid=")
                && c[0].ends_with(" PRIVMSG #c :one")
        );
        assert!(
            !c[1].contains("msgid=") && !c[1].contains("+x") && c[1].ends_with(" PRIVMSG #c :two")
        );
        let d = h.take(ids[4]);
        assert!(
            d[0].starts_with(":alice!") && d[1].ends_with(" PRIVMSG #c :two"),
            "{d:?}"
        );
        assert_eq!(d.len(), 2);
        // Fakelag is off here: the bill is paid at once, and the box goes.
        assert_eq!(h.s.admit(a, h.now), None);
        assert!(h.s.clients[a].extra.is_none(), "the batch's box is freed");
    }

    #[test]
    fn batch_lines_pass_fakelag_free_then_the_bill_is_paid() {
        let mut cfg = config();
        cfg.fakelag.enabled = true;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        let b = h.client("bob");
        h.s.clients[a].caps |= MULTI;
        let t0 = h.now;
        let feed = |h: &mut Harness, line: &str| {
            assert_eq!(h.s.admit(a, t0), None, "{line}");
            h.line(a, line);
        };
        feed(&mut h, "BATCH +r draft/multiline bob");
        for _ in 0..100 {
            feed(&mut h, "@batch=r PRIVMSG bob :hi");
        }
        feed(&mut h, "BATCH -r");
        assert_eq!(h.take(b).len(), 100, "delivered at once (the fallback)");
        // The bill: 100 lines × 60 / 512 = 11 touches. Four pass in the
        // burst (BATCH + was the first), then each waits 500 ms, and so
        // does the next line itself.
        let mut at = t0;
        let mut waits = 0;
        while let Some(until) = h.s.admit(a, at) {
            assert!(until > at);
            at = until;
            waits += 1;
        }
        assert_eq!(waits, 8);
        assert_eq!(at, t0 + Duration::from_millis(4000));
        assert!(h.s.clients[a].extra.is_none(), "paid: the box goes");
    }

    #[test]
    fn an_open_batch_buys_at_most_max_lines_of_freedom() {
        let mut cfg = config();
        cfg.fakelag.enabled = true;
        cfg.limits.multiline_max_lines = 10;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.client("bob");
        h.s.clients[a].caps |= MULTI;
        let t0 = h.now;
        assert_eq!(h.s.admit(a, t0), None);
        h.line(a, "BATCH +r draft/multiline bob");
        // Lines that never reach the batch (empty ones) still use it up:
        // max-lines and BATCH -, then fakelag as usual.
        for _ in 0..11 {
            assert_eq!(h.s.admit(a, t0), None);
        }
        let mut free = 0;
        while h.s.admit(a, t0).is_none() {
            free += 1;
        }
        assert_eq!(free, 4, "the rest of the burst of 5, no more");
    }

    #[test]
    fn an_oper_without_fakelag_owes_nothing() {
        let mut cfg = config();
        cfg.fakelag.enabled = true;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.client("bob");
        h.make_oper(a);
        h.s.clients[a].caps |= MULTI;
        send_batch(&mut h, a, "bob", &["@batch=r PRIVMSG bob :hi"]);
        assert_eq!(
            h.s.clients[a].extra.as_ref().map(|e| e.fakelag_debt),
            Some(1)
        );
        assert_eq!(h.s.admit(a, h.now), None);
        assert!(
            h.s.clients[a].extra.is_none(),
            "forgiven, and the box freed"
        );
    }

    #[test]
    fn other_commands_end_a_batch_and_quit_drops_it() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.s.clients[a].caps |= MULTI;
        h.line(a, "BATCH +r draft/multiline bob");
        h.line(a, "@batch=r PRIVMSG bob :hi");
        h.line(a, "PRIVMSG bob :plain");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL BATCH MULTILINE_INVALID :Command not allowed during a multiline batch"]
        );
        assert!(h.take(b).is_empty(), "neither the plain line nor the batch");
        assert_eq!(
            h.s.clients[a].extra.as_ref().map(|e| e.fakelag_debt),
            Some(1)
        );
        h.line(a, "BATCH -r");
        assert!(h.take(a).is_empty(), "the failed batch ends quietly");

        h.line(a, "BATCH +s draft/multiline bob");
        h.line(a, "@batch=s PRIVMSG bob :never");
        assert!(h.s.clients[a]
            .extra
            .as_ref()
            .is_some_and(|e| e.multiline.is_some()));
        h.line(a, "QUIT :bye");
        assert!(h.s.clients[a].dead);
        assert!(h.s.clients[a]
            .extra
            .as_ref()
            .is_none_or(|e| e.multiline.is_none()));
        let got = h.take(b);
        assert_eq!(
            got.len(),
            0,
            "bob shares no channel: not even the QUIT: {got:?}"
        );
    }
}
