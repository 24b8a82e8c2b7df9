//! Fuzzes `mask::matches` against a plain dynamic-programming glob over
//! chars (`*` any run, `?` one char, ASCII case-insensitive, everything
//! else literal). The input is split at the first NUL into mask and text;
//! both are capped at 64 chars to keep the reference fast.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picoircd::proto::mask;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (m, t) = s.split_once('\0').unwrap_or((s, ""));
    if m.chars().count() > 64 || t.chars().count() > 64 {
        return;
    }
    assert_eq!(
        mask::matches(m, t),
        reference(m, t),
        "mask {m:?} text {t:?}"
    );
});

/// `ok[i][j]`: the first `i` mask chars match the first `j` text chars.
fn reference(mask: &str, text: &str) -> bool {
    let m: Vec<char> = mask.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let mut ok = vec![vec![false; t.len() + 1]; m.len() + 1];
    ok[0][0] = true;
    for i in 1..=m.len() {
        for j in 0..=t.len() {
            ok[i][j] = match m[i - 1] {
                '*' => ok[i - 1][j] || (j > 0 && ok[i][j - 1]),
                '?' => j > 0 && ok[i - 1][j - 1],
                c => j > 0 && ok[i - 1][j - 1] && c.eq_ignore_ascii_case(&t[j - 1]),
            };
        }
    }
    ok[m.len()][t.len()]
}
