//! `[[oper]]` blocks and `[oper-classes.NAME]` tables: names, hashes,
//! known capabilities, and `extends` merged (parent first, no repeats,
//! a cycle is an error at the `extends` value that closes it).
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
        ctx.check(&o.password, values::bcrypt_hash(o.password.get_ref()))?;
        if let Some(line) = &o.whois_line {
            ctx.check(line, values::line_of_text("the whois-line", line.get_ref()))?;
        }
        if let Some(vhost) = &o.vhost {
            ctx.check(vhost, values::vhost(vhost.get_ref()))?;
        }
        let modes = match &o.modes {
            Some(m) => {
                ctx.check(m, values::user_modes(m.get_ref()))?;
                m.get_ref().clone()
            }
            None => String::new(),
        };
        out.push(OperConfig {
            name: o.name.get_ref().clone(),
            class: o.class.get_ref().clone(),
            password: o.password.get_ref().clone(),
            whois_line: o.whois_line.as_ref().map(|l| l.get_ref().clone()),
            vhost: o.vhost.as_ref().map(|v| v.get_ref().clone()),
            hidden: o.hidden.unwrap_or(false),
            modes,
        });
    }
    Ok(out)
}
