//! The ircdocs parser test vectors (`tests/data/parser-tests/`, CC0, see its
//! README) run against `picoircd::proto`: parsing, serializing, masks,
//! source splitting and hostname validation, plus a parse → write → parse
//! round trip over every msg-split input.
//!
//! Every case of every file must pass; a failure names the case. The data
//! is read from this repository only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use picoircd::proto::message::{split_source, unescape_tag_value};
use picoircd::proto::{casemap, mask, write, Message};
use serde::Deserialize;
use serde_yaml_ng::Mapping;

/// Reads and deserializes one vector file from `tests/data/parser-tests/`.
fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "parser-tests",
        name,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

#[derive(Deserialize)]
struct File<T> {
    tests: Vec<T>,
}

/// The `atoms` of msg-split and msg-join. Missing keys are null, and
/// missing params are an empty list.
#[derive(Deserialize, Debug)]
struct Atoms {
    #[serde(default)]
    tags: Option<Mapping>,
    #[serde(default)]
    source: Option<String>,
    verb: String,
    #[serde(default)]
    params: Vec<String>,
}

impl Atoms {
    /// The tags in file order, as `(key, value)` strings.
    fn tag_pairs(&self) -> Vec<(String, String)> {
        let Some(map) = &self.tags else {
            return Vec::new();
        };
        map.iter()
            .map(|(k, v)| {
                let k = k.as_str().expect("tag key is a string");
                let v = v.as_str().expect("tag value is a string");
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// The tags as a dict, which is how msg-split compares them.
    fn tag_dict(&self) -> BTreeMap<String, String> {
        self.tag_pairs().into_iter().collect()
    }
}

/// The tags of a parsed message as a dict: values unescaped, missing
/// values `""`, and the last of a repeated key wins.
fn parsed_tag_dict(m: &Message<'_>) -> BTreeMap<String, String> {
    parsed_tag_list(m).into_iter().collect()
}

/// The tags of a parsed message in wire order, values unescaped.
fn parsed_tag_list(m: &Message<'_>) -> Vec<(String, String)> {
    m.tags()
        .map(|(k, raw)| {
            let mut v = String::new();
            unescape_tag_value(raw, &mut v);
            (k.to_string(), v)
        })
        .collect()
}

/// Asserts that `line` parses to exactly `atoms`.
fn assert_parses_to(line: &str, atoms: &Atoms, what: &str) {
    let m = Message::parse(line).unwrap_or_else(|e| panic!("{what}: {line:?} failed: {e:?}"));
    assert_eq!(
        parsed_tag_dict(&m),
        atoms.tag_dict(),
        "{what}: tags of {line:?}"
    );
    assert_eq!(
        m.source,
        atoms.source.as_deref(),
        "{what}: source of {line:?}"
    );
    assert_eq!(m.command, atoms.verb, "{what}: verb of {line:?}");
    assert_eq!(
        m.params.as_slice(),
        atoms.params.as_slice(),
        "{what}: params of {line:?}"
    );
}

/// Serializes with `write::message` and returns the line without its CR LF
/// (which `message` always appends and the vectors never show).
fn serialize(tags: &[(&str, &str)], source: Option<&str>, verb: &str, params: &[&str]) -> String {
    let mut out = Vec::new();
    write::message(&mut out, tags, source, verb, params);
    let text = String::from_utf8(out).expect("serializer output is UTF-8");
    let line = text.strip_suffix("\r\n").expect("serializer appends CR LF");
    assert!(
        !line.contains(['\r', '\n', '\0']),
        "serializer wrote a forbidden byte: {line:?}"
    );
    line.to_string()
}

#[derive(Deserialize)]
struct SplitCase {
    input: String,
    atoms: Atoms,
}

#[test]
fn msg_split() {
    let file: File<SplitCase> = load("msg-split.yaml");
    assert!(
        file.tests.len() >= 30,
        "msg-split has {} cases",
        file.tests.len()
    );
    for (i, case) in file.tests.iter().enumerate() {
        assert_parses_to(&case.input, &case.atoms, &format!("msg-split #{i}"));
    }
}

#[derive(Deserialize)]
struct JoinCase {
    #[serde(default)]
    desc: String,
    atoms: Atoms,
    matches: Vec<String>,
}

#[test]
fn msg_join() {
    let file: File<JoinCase> = load("msg-join.yaml");
    assert!(
        file.tests.len() >= 15,
        "msg-join has {} cases",
        file.tests.len()
    );
    for (i, case) in file.tests.iter().enumerate() {
        let pairs = case.atoms.tag_pairs();
        let tags: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let params: Vec<&str> = case.atoms.params.iter().map(String::as_str).collect();
        let line = serialize(
            &tags,
            case.atoms.source.as_deref(),
            &case.atoms.verb,
            &params,
        );
        assert!(
            case.matches.contains(&line),
            "msg-join #{i} ({}): wrote {line:?}, want one of {:?}",
            case.desc,
            case.matches
        );
        // Every accepted form must also parse back to the atoms.
        for m in &case.matches {
            assert_parses_to(m, &case.atoms, &format!("msg-join #{i} ({})", case.desc));
        }
    }
}

#[test]
fn msg_split_round_trips_through_the_serializer() {
    let file: File<SplitCase> = load("msg-split.yaml");
    for (i, case) in file.tests.iter().enumerate() {
        let first = Message::parse(&case.input).unwrap();
        let pairs = parsed_tag_list(&first);
        let tags: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let line = serialize(&tags, first.source, first.command, &first.params);
        let again = Message::parse(&line)
            .unwrap_or_else(|e| panic!("msg-split #{i}: {line:?} failed: {e:?}"));
        assert_eq!(
            parsed_tag_list(&again),
            pairs,
            "msg-split #{i}: tags via {line:?}"
        );
        assert_eq!(
            again.source, first.source,
            "msg-split #{i}: source via {line:?}"
        );
        assert_eq!(
            again.command, first.command,
            "msg-split #{i}: verb via {line:?}"
        );
        assert_eq!(
            again.params, first.params,
            "msg-split #{i}: params via {line:?}"
        );
        // Writing the re-parsed message again gives the same line.
        let pairs2 = parsed_tag_list(&again);
        let tags2: Vec<(&str, &str)> = pairs2
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let line2 = serialize(&tags2, again.source, again.command, &again.params);
        assert_eq!(line2, line, "msg-split #{i}: serializer is not stable");
    }
}

#[derive(Deserialize)]
struct MaskCase {
    mask: String,
    #[serde(default)]
    matches: Vec<String>,
    #[serde(default)]
    fails: Vec<String>,
}

#[test]
fn mask_match() {
    let file: File<MaskCase> = load("mask-match.yaml");
    assert!(!file.tests.is_empty());
    for case in &file.tests {
        for text in &case.matches {
            assert!(
                mask::matches(&case.mask, text),
                "{:?} should match {text:?}",
                case.mask
            );
        }
        for text in &case.fails {
            assert!(
                !mask::matches(&case.mask, text),
                "{:?} should not match {text:?}",
                case.mask
            );
        }
    }
}

#[derive(Deserialize, Default)]
struct UserHost {
    #[serde(default)]
    nick: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    host: String,
}

#[derive(Deserialize)]
struct UserHostCase {
    source: String,
    atoms: UserHost,
}

#[test]
fn userhost_split() {
    let file: File<UserHostCase> = load("userhost-split.yaml");
    assert!(!file.tests.is_empty());
    for case in &file.tests {
        let (nick, user, host) = split_source(&case.source);
        let got = (nick, user.unwrap_or(""), host.unwrap_or(""));
        let want = (&*case.atoms.nick, &*case.atoms.user, &*case.atoms.host);
        assert_eq!(got, want, "split of {:?}", case.source);
    }
}

#[derive(Deserialize)]
struct HostCase {
    host: String,
    valid: bool,
}

#[test]
fn validate_hostname() {
    let file: File<HostCase> = load("validate-hostname.yaml");
    assert!(!file.tests.is_empty());
    for case in &file.tests {
        assert_eq!(
            casemap::valid_hostname(&case.host),
            case.valid,
            "host {:?}",
            case.host
        );
    }
}
