//! The MOTD file: its lines, and Oragono's `$` formatting codes turned into
//! IRC control characters.
//!
//! `$b` bold, `$i` italic, `$u` underline, `$s` strikethrough, `$m`
//! monospace, `$v` reverse, `$r` reset, `$$` a dollar, `$c[fg]` or
//! `$c[fg,bg]` a colour (names or numbers, always written as two digits),
//! a bare `$c` the colour control character alone. A `$` before any other
//! character is kept as it is. An unknown colour or an unclosed `[` is an
//! error at its line and column in the MOTD file.
//! Imports only the parent's `source`.

use super::source::Source;
use super::ConfigError;

/// Splits `text` into lines (CR dropped, empty lines kept as empty
/// strings) and applies the formatting codes when `formatting` is on.
pub fn lines(src: Source<'_>, formatting: bool) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in src.text.split_inclusive('\n') {
        let line = raw.trim_end_matches('\n');
        let line: String = line.chars().filter(|&c| c != '\r').collect();
        if formatting {
            // Offsets in `line` equal offsets in the file unless the line
            // had a CR before its end, which is rare enough to ignore.
            out.push(format(&line).map_err(|(at, msg)| src.error(offset + at..offset + at, msg))?);
        } else {
            out.push(line);
        }
        offset += raw.len();
    }
    Ok(out)
}

/// Applies the codes to one line; `Err((byte offset, message))`.
pub fn format(line: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let Some(&(_, code)) = rest.peek() else {
            out.push('$');
            continue;
        };
        let control = match code {
            '$' => '$',
            'b' => '\x02',
            'i' => '\x1d',
            'u' => '\x1f',
            's' => '\x1e',
            'm' => '\x11',
            'v' => '\x16',
            'r' => '\x0f',
            'c' => '\x03',
            _ => {
                out.push('$');
                continue;
            }
        };
        rest.next();
        out.push(control);
        if code != 'c' || rest.peek().map(|&(_, c)| c) != Some('[') {
            continue;
        }
        // `$c[...]`: `at + 2` is the '['.
        let open = at + 2;
        let close = line[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or_else(|| (at, "unclosed `$c[`: expected `]`".to_string()))?;
        let inner = &line[open + 1..close];
        let (fg, bg) = match inner.split_once(',') {
            Some((f, b)) => (f, Some(b)),
            None => (inner, None),
        };
        if !inner.trim().is_empty() {
            out.push_str(&colour(fg).ok_or_else(|| (open + 1, unknown_colour(fg)))?);
            if let Some(bg) = bg {
                out.push(',');
                let bg_at = open + 1 + fg.len() + 1;
                out.push_str(&colour(bg).ok_or_else(|| (bg_at, unknown_colour(bg)))?);
            }
        }
        while rest.peek().is_some_and(|&(i, _)| i <= close) {
            rest.next();
        }
    }
    Ok(out)
}

fn unknown_colour(name: &str) -> String {
    format!(
        "unknown colour `{}` in the MOTD: use a number 0-99 or one of white, black, blue, green, red, brown, magenta, orange, yellow, light green, cyan, light cyan, light blue, pink, grey, light grey, default",
        name.trim()
    )
}

/// A colour name or number → its two-digit mIRC code.
fn colour(name: &str) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    if !name.is_empty() && name.len() <= 2 && name.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{:02}", name.parse::<u8>().ok()?));
    }
    let code = match name.as_str() {
        "white" => 0,
        "black" => 1,
        "blue" => 2,
        "green" => 3,
        "red" => 4,
        "brown" => 5,
        "magenta" => 6,
        "orange" => 7,
        "yellow" => 8,
        "light green" => 9,
        "cyan" => 10,
        "light cyan" => 11,
        "light blue" => 12,
        "pink" => 13,
        "grey" | "gray" => 14,
        "light grey" | "light gray" => 15,
        "default" => 99,
        _ => return None,
    };
    Some(format!("{code:02}"))
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn codes() {
        assert_eq!(
            format("$bbold$b $iit$i $uun$u $sst$s $mmo$m $r").unwrap(),
            "\x02bold\x02 \x1dit\x1d \x1fun\x1f \x1est\x1e \x11mo\x11 \x0f"
        );
        assert_eq!(format("$c[red]r$c").unwrap(), "\x0304r\x03");
        assert_eq!(format("$c[light blue,black]x").unwrap(), "\x0312,01x");
        assert_eq!(format("$c[4]5").unwrap(), "\x03045");
        assert_eq!(format("$c[]x").unwrap(), "\x03x");
        assert_eq!(
            format("costs $$5, $5, and $").unwrap(),
            "costs $5, $5, and $"
        );
        assert_eq!(format("ünï $bcödé").unwrap(), "ünï \x02cödé");
        assert_eq!(format("$c[mauve]").unwrap_err().0, 3);
        assert_eq!(format("$c[red,mauve]").unwrap_err().0, 7);
        assert_eq!(format("ab$c[red").unwrap_err().0, 2);
    }
}
