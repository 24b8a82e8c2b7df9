//! `[[oper]]` blocks and `[oper-classes.NAME]` tables: names, hashes,
//! certificate fingerprints, the modes set on OPER (with server notice
//! masks), known capabilities, and `extends` merged (parent first, no
//! repeats, a cycle is an error at the `extends` value that closes it).
//! Imports its sibling modules only.

use std::collections::BTreeMap;

use toml::Spanned;

use super::build::Ctx;
use super::raw::{RawOper, RawOperClass, Str};
use super::source::line_column;
use super::values;
use super::{ConfigError, OperClass, OperConfig};

/// The classes in file order, each with its inherited capabilities.
pub fn classes(
    ctx: &Ctx<'_>,
    raw: BTreeMap<Str, Spanned<RawOperClass>>,
) -> Result<Vec<OperClass>, ConfigError> {
    let mut entries: Vec<(Str, RawOperClass)> =
        raw.into_iter().map(|(k, v)| (k, v.into_inner())).collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    for (name, class) in &entries {
        ctx.check(name, values::word("an oper class name", name.get_ref()))?;
        if let Some(title) = &class.title {
            ctx.check(
                title,
                values::line_of_text("the class title", title.get_ref()),
            )?;
        }
        for cap in &class.capabilities {
            ctx.check(cap, values::capability(cap.get_ref()))?;
        }
        if let Some(parent) = &class.extends {
            if !entries.iter().any(|(n, _)| n.get_ref() == parent.get_ref()) {
                return Err(ctx.err(
                    parent,
                    format!(
                        "oper class `{}` extends `{}`, which is not defined in [oper-classes]",
                        name.get_ref(),
                        parent.get_ref()
                    ),
                ));
            }
        }
    }
    let mut resolved: Vec<Option<Vec<String>>> = vec![None; entries.len()];
    for i in 0..entries.len() {
        resolve(ctx, &entries, i, &mut Vec::new(), &mut resolved)?;
    }
    Ok(entries
        .iter()
        .zip(resolved)
        .map(|((name, class), caps)| OperClass {
            name: name.get_ref().clone(),
            title: class
                .title
                .as_ref()
                .map_or_else(|| name.get_ref().clone(), |t| t.get_ref().clone()),
            capabilities: caps.unwrap_or_default(),
        })
        .collect())
}

/// The capabilities of class `i`: its parent's, then its own.
fn resolve(
    ctx: &Ctx<'_>,
    entries: &[(Str, RawOperClass)],
    i: usize,
    path: &mut Vec<usize>,
    resolved: &mut [Option<Vec<String>>],
) -> Result<Vec<String>, ConfigError> {
    if let Some(done) = &resolved[i] {
        return Ok(done.clone());
    }
    path.push(i);
    let (_, class) = &entries[i];
    let mut caps = Vec::new();
    if let Some(parent) = &class.extends {
        // Checked to exist in `classes`.
        let p = entries
            .iter()
            .position(|(n, _)| n.get_ref() == parent.get_ref())
            .unwrap_or(i);
        if let Some(start) = path.iter().position(|&x| x == p) {
            let mut names: Vec<&str> = path[start..]
                .iter()
                .map(|&x| entries[x].0.get_ref().as_str())
                .collect();
            names.push(parent.get_ref());
            return Err(ctx.err(
                parent,
                format!(
                    "oper classes extend each other in a cycle: {}",
                    names.join(" → ")
                ),
            ));
        }
        caps = resolve(ctx, entries, p, path, resolved)?;
    }
    for cap in &class.capabilities {
        if !caps.contains(cap.get_ref()) {
            caps.push(cap.get_ref().clone());
        }
    }
    path.pop();
    resolved[i] = Some(caps.clone());
    Ok(caps)
}

pub fn opers(
    ctx: &Ctx<'_>,
    raw: &[Spanned<RawOper>],
    classes: &[OperClass],
) -> Result<Vec<OperConfig>, ConfigError> {
    let mut out: Vec<OperConfig> = Vec::new();
    for (i, o) in raw.iter().enumerate() {
        let o = o.get_ref();
        ctx.check(&o.name, values::word("an oper name", o.name.get_ref()))?;
        if let Some(first) = raw[..i].iter().find(|p| {
            p.get_ref()
                .name
                .get_ref()
                .eq_ignore_ascii_case(o.name.get_ref())
        }) {
            let (line, _) = line_column(ctx.src.text, first.get_ref().name.span().start);
            return Err(ctx.err(
                &o.name,
                format!(
                    "duplicate oper name `{}` (already defined on line {line})",
                    o.name.get_ref()
                ),
            ));
        }
        if !classes.iter().any(|c| &c.name == o.class.get_ref()) {
            return Err(ctx.err(
                &o.class,
                format!(
                    "oper `{}` has class `{}`, which is not defined in [oper-classes]",
                    o.name.get_ref(),
                    o.class.get_ref()
                ),
            ));
        }
        if let Some(password) = &o.password {
            ctx.check(password, values::bcrypt_hash(password.get_ref()))?;
        }
        let certfp = match &o.certfp {
            Some(fp) => Some(ctx.check(fp, certfp(fp.get_ref()))?),
            None => None,
        };
        if o.password.is_none() && certfp.is_none() {
            return Err(ctx.err(
                &raw[i],
                format!(
                    "oper `{}` needs a `password` (a bcrypt hash from `picoircd genpasswd`) or a `certfp` (the SHA-256 fingerprint of a TLS client certificate), or both",
                    o.name.get_ref()
                ),
            ));
        }
        if let Some(line) = &o.whois_line {
            ctx.check(line, values::line_of_text("the whois-line", line.get_ref()))?;
        }
        if let Some(vhost) = &o.vhost {
            ctx.check(vhost, values::vhost(vhost.get_ref()))?;
        }
        let modes = match &o.modes {
            Some(m) => {
                ctx.check(m, oper_modes(m.get_ref()))?;
                m.get_ref().clone()
            }
            None => String::new(),
        };
        out.push(OperConfig {
            name: o.name.get_ref().clone(),
            class: o.class.get_ref().clone(),
            password: o.password.as_ref().map(|p| p.get_ref().clone()),
            certfp,
            whois_line: o.whois_line.as_ref().map(|l| l.get_ref().clone()),
            vhost: o.vhost.as_ref().map(|v| v.get_ref().clone()),
            hidden: o.hidden.unwrap_or(false),
            modes,
        });
    }
    Ok(out)
}

/// The server notice masks (user mode +s), Ergo's letters: a announcements,
/// c connects, d disconnects, j channels, k kills, n nick changes, o oper
/// actions, q quits, t stats, u accounts, v vhosts, x K-/D-lines.
pub const SNOMASKS: &str = "acdjknoqtuvx";

/// `[[oper]] certfp`: a SHA-256 fingerprint, 64 hex digits, colons and
/// upper case allowed (as OpenSSL prints them); kept lower-case, no colons.
fn certfp(text: &str) -> Result<String, String> {
    let fp: String = text
        .chars()
        .filter(|&c| c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if fp.len() == 64 && fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(fp)
    } else {
        Err(format!(
            "invalid certfp `{text}`: expected the SHA-256 fingerprint of the client certificate, 64 hex digits (colons allowed), e.g. as `openssl x509 -noout -fingerprint -sha256` prints it"
        ))
    }
}

/// `[[oper]] modes`: `+` and user mode letters, then the server notice
/// masks when `s` is among them: "+w", "+s +cko", "+ws *".
fn oper_modes(text: &str) -> Result<(), String> {
    let mut words = text.split_whitespace();
    let Some(letters) = words.next() else {
        return Ok(());
    };
    let example = "expected `+` and user mode letters, e.g. \"+w\", and for `s` the server notice masks, e.g. \"+ws +cko\"";
    let Some(rest) = letters.strip_prefix('+').filter(|r| !r.is_empty()) else {
        return Err(format!("invalid modes `{text}`: {example}"));
    };
    if let Some(bad) = rest.chars().find(|c| !"iwBs".contains(*c)) {
        return Err(format!(
            "invalid modes `{text}`: `{bad}` is not a user mode an oper block can set (i, w, B, s); {example}"
        ));
    }
    let wants_masks = rest.contains('s');
    match (wants_masks, words.next()) {
        (true, None) => Err(format!(
            "invalid modes `{text}`: `s` needs the server notice masks after it, e.g. \"+s +cko\" or \"+s *\" (masks: {SNOMASKS})"
        )),
        (true, Some(masks)) => {
            let letters = masks.strip_prefix('+').unwrap_or(masks);
            if letters.is_empty() || !(letters == "*" || letters.chars().all(|c| SNOMASKS.contains(c))) {
                return Err(format!(
                    "invalid modes `{text}`: unknown server notice mask in `{masks}` (known: {SNOMASKS}, or `*` for all)"
                ));
            }
            match words.next() {
                Some(extra) => Err(format!("invalid modes `{text}`: unexpected `{extra}`")),
                None => Ok(()),
            }
        }
        (false, Some(extra)) => Err(format!(
            "invalid modes `{text}`: unexpected `{extra}` (only `s` takes an argument)"
        )),
        (false, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certfps_are_normalized() {
        let hex = "AB".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(certfp(&hex).unwrap(), "ab".repeat(32));
        assert_eq!(certfp(&colons).unwrap(), "ab".repeat(32));
        assert!(certfp("abc").is_err());
        assert!(certfp(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn oper_modes_take_snomasks_for_s() {
        for ok in ["", "+w", "+ws +cko", "+s cko", "+s *", "+is +*"] {
            assert!(oper_modes(ok).is_ok(), "{ok}");
        }
        for bad in ["w", "+", "+x", "+s", "+s +cz", "+w cko", "+s c k", "+o"] {
            assert!(oper_modes(bad).is_err(), "{bad}");
        }
    }
}
