//! Where an error is: byte spans of the config text → 1-based line and
//! column (counted in characters), and toml's parse errors → `ConfigError`
//! with their wording made ours ("key" rather than serde's "field").
//! Imports only the parent module's `ConfigError`.

use std::ops::Range;
use std::path::Path;

use super::ConfigError;

/// One text being loaded: a config file or the MOTD it names.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at the start of `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about the file as a whole (a missing section): line 1, column 1.
    pub fn error_at_top(&self, message: impl Into<String>) -> ConfigError {
        self.error(0..0, message)
    }

    /// A toml parse or deserialization error.
    pub fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let message = reword(e.message().trim());
        match e.span() {
            Some(span) => self.error(span, message),
            None => self.error_at_top(message),
        }
    }
}

/// 1-based (line, column) of byte `offset`; the column counts characters.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// serde speaks of fields, i64 and structs; a config file has keys,
/// integers and tables.
fn reword(message: &str) -> String {
    let mut m = message
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
        .replace("there are no fields", "this table takes no keys")
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table");
    // "expected struct RawTls" → "expected a table".
    const STRUCT: &str = "expected struct ";
    if let Some(at) = m.find(STRUCT) {
        let name = at + STRUCT.len();
        let len = m[name..]
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(m.len() - name);
        m.replace_range(at..name + len, "expected a table");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // "bé" is 3 bytes: the '=' is byte 10, character 4.
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }

    #[test]
    fn serde_words_become_config_words() {
        assert_eq!(
            super::reword("invalid type: integer `5`, expected struct RawTls"),
            "invalid type: integer `5`, expected a table"
        );
        assert_eq!(
            super::reword("invalid type: string \"x\", expected i64"),
            "invalid type: string \"x\", expected an integer"
        );
    }
}
