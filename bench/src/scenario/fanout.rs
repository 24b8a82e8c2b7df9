//! `fanout`: M members join one channel, S of them (members 0..S) send
//! PRIVMSGs to it, each keeping W messages in flight (sent, not yet read
//! by every other member), every member reading. Measures delivered
//! lines/s, end-to-end latency (send time in the text), server CPU per
//! million delivered lines and peak RSS; and, to show JOIN/QUIT fan-out
//! stays linear in the channel size, the server CPU of the JOIN phase and
//! of the QUIT phase per line they delivered.
//!
//! `--caps mixed` shows that fan-out to IRCv3 clients stays
//! serialize-once: before registering, the senders request `message-tags
//! server-time echo-message` and the receivers, a quarter each, nothing,
//! `message-tags`, `server-time` or both (`GROUPS`), so a server that has
//! these capabilities writes four forms of each message (the echo shares
//! the form of the last group). What each server ACKed is reported.
//!
//! In both modes every PRIVMSG received is checked against the
//! capabilities its receiver was granted (`wrong_form`): `msgid` iff
//! message-tags, `time` in the RFC 3339 form iff server-time, no other
//! tag without message-tags; and every receiver of one message must see
//! the same msgid and time. A line of the wrong form fails the run: a
//! count of lines that ignored their form would not show the point.
//!
//! Built from `steps`; message text from `payload`.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use crate::args::{CapMix, Fanout};
use crate::irc::cap::{self, ECHO_MESSAGE, MESSAGE_TAGS, SERVER_TIME};
use crate::irc::{Event, Line};
use crate::latency::Histogram;
use crate::pool::Pool;
use crate::procfs::Snapshot;
use crate::report::{ratio, round, Report};

use super::{payload, steps};

const CHANNEL: &str = "#fan";
/// How long in-flight messages may take to arrive once sending stops.
const DRAIN: Duration = Duration::from_secs(30);

/// The member groups of `--caps mixed`: a name for the metrics and the
/// capabilities requested. Receivers (members S..M) take groups 0..4 in
/// turn; the senders are `SENDERS`.
const GROUPS: [(&str, u8); 5] = [
    ("plain", 0),
    ("tags", MESSAGE_TAGS),
    ("time", SERVER_TIME),
    ("tags_time", MESSAGE_TAGS | SERVER_TIME),
    ("senders", MESSAGE_TAGS | SERVER_TIME | ECHO_MESSAGE),
];
const SENDERS: usize = 4;

/// The group of member `i` (of whom `senders` send).
fn group_of(i: usize, senders: usize) -> usize {
    if i < senders {
        SENDERS
    } else {
        (i - senders) % SENDERS
    }
}

/// What member `i` requests.
fn caps_of(mix: CapMix, i: usize, senders: usize) -> u8 {
    match mix {
        CapMix::None => 0,
        CapMix::Mixed => GROUPS[group_of(i, senders)].1,
    }
}

/// Is `t` a server-time value, `YYYY-MM-DDThh:mm:ss.sssZ`?
fn is_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Why a received line is not of the form the capabilities `acked`
/// (`irc::cap` bits) imply, or `None` when it is.
fn wrong_form(l: &Line, acked: u8) -> Option<&'static str> {
    let tags = acked & MESSAGE_TAGS != 0;
    let time = acked & SERVER_TIME != 0;
    match (l.tag("msgid"), tags) {
        (None, true) => return Some("no msgid with message-tags"),
        (Some(""), true) => return Some("an empty msgid"),
        (Some(_), false) => return Some("a msgid without message-tags"),
        _ => {}
    }
    match (l.tag("time"), time) {
        (None, true) => return Some("no time with server-time"),
        (Some(t), true) if !is_time(t) => {
            return Some("a time not of the form YYYY-MM-DDThh:mm:ss.sssZ")
        }
        (Some(_), false) => return Some("a time without server-time"),
        _ => {}
    }
    if !tags && l.tag_pairs().any(|(k, _)| k != "time") {
        return Some("a tag other than time without message-tags");
    }
    None
}

/// A 64-bit FNV-1a hash of a tag value, never 0 (0 means "not seen").
fn hash(v: &str) -> u64 {
    let h = v.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    h.max(1)
}

/// One message in flight: receipts still missing, and the msgid and time
/// its first receiver saw (hashed; 0 while nobody saw one).
struct Slot {
    missing: u32,
    msgid: u64,
    time: u64,
}

/// One sender's window.
struct Sender {
    id: usize,
    seq: u64,
    in_flight: usize,
    /// Receipts expected per message: the other members, plus its own
    /// echo when the server ACKed echo-message.
    per_message: u32,
    /// Messages `base`, `base + 1`, … not yet read by everyone.
    missing: VecDeque<Slot>,
    base: u64,
}

/// Receipt bookkeeping for every sender.
struct Ledger {
    senders: Vec<Sender>,
    sent: u64,
    delivered: u64,
    strays: u64,
    /// Receivers of one message that saw another msgid or time than the first.
    mismatches: u64,
    latency: Histogram,
}

impl Ledger {
    /// One member read message `seq` of sender `from`, with these tags.
    fn receipt(
        &mut self,
        from: usize,
        seq: u64,
        latency_us: u64,
        msgid: Option<&str>,
        time: Option<&str>,
    ) {
        self.latency.record(latency_us);
        self.delivered += 1;
        let Some(s) = self.senders.get_mut(from) else {
            self.strays += 1;
            return;
        };
        let Some(slot) = seq
            .checked_sub(s.base)
            .and_then(|i| s.missing.get_mut(i as usize))
            .filter(|m| m.missing > 0)
        else {
            self.strays += 1;
            return;
        };
        for (seen, v) in [(&mut slot.msgid, msgid), (&mut slot.time, time)] {
            if let Some(v) = v {
                let h = hash(v);
                if *seen == 0 {
                    *seen = h;
                } else if *seen != h {
                    self.mismatches += 1;
                }
            }
        }
        slot.missing -= 1;
        if slot.missing == 0 {
            s.in_flight -= 1;
            while s.missing.front().is_some_and(|m| m.missing == 0) {
                s.missing.pop_front();
                s.base += 1;
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.senders.iter().map(|s| s.in_flight).sum()
    }
}

/// What one member group asked for, was granted and received.
#[derive(Default, Clone, Copy)]
struct Tally {
    members: u64,
    /// Members granted exactly what they requested.
    acked_as_asked: u64,
    lines: u64,
    wrong: u64,
}

pub fn run(a: &Fanout) -> io::Result<Report> {
    let t = a.target();
    let limit = Duration::from_secs(a.timeout);
    let members = a.members.max(2);
    let senders = a.senders.clamp(1, members);
    let window = a.window.max(1);
    let mix = a.caps;
    let mut r = Report::new("fanout", &t);
    r.param("members", members);
    r.param("senders", senders);
    r.param("window", window);
    r.param("seconds", a.seconds);
    r.param("payload", a.payload);
    r.param("caps", mix.name());
    let mut pool = Pool::new(t.addr)?;
    let origin = Instant::now();

    let ids = steps::register_with_caps(
        &mut pool,
        members,
        |i| format!("f{i}"),
        |i| caps_of(mix, i, senders),
        a.concurrency,
        limit,
    )?;
    // What the server granted, per member (in member order).
    let acked: Vec<u8> = ids
        .iter()
        .map(|&id| pool.get(id).map_or(0, |c| c.irc.caps_acked))
        .collect();
    let mut groups = [Tally::default(); GROUPS.len()];
    for (i, &got) in acked.iter().enumerate() {
        let g = &mut groups[group_of(i, senders)];
        g.members += 1;
        if got == caps_of(mix, i, senders) {
            g.acked_as_asked += 1;
        }
    }
    let s_join = Snapshot::take(t.pid)?;
    let join_lines = steps::join(
        &mut pool,
        &ids,
        |_| CHANNEL.to_string(),
        a.concurrency,
        limit,
    )?;
    let s_msg = Snapshot::take(t.pid)?;

    let mut ledger = Ledger {
        senders: ids[..senders]
            .iter()
            .zip(&acked)
            .map(|(&id, &got)| Sender {
                id,
                seq: 0,
                in_flight: 0,
                per_message: (members - 1) as u32 + u32::from(got & ECHO_MESSAGE != 0),
                missing: VecDeque::new(),
                base: 0,
            })
            .collect(),
        sent: 0,
        delivered: 0,
        strays: 0,
        mismatches: 0,
        latency: Histogram::default(),
    };
    let mut first_wrong: Option<String> = None;
    let drops = pool.counters.closed_by_server;
    let (bytes_before, lines_before) = (pool.counters.bytes_in, pool.counters.lines_in);
    let send_until = Instant::now() + Duration::from_secs_f64(a.seconds);
    let mut drained = true;
    loop {
        let now = Instant::now();
        if now < send_until {
            for (i, s) in ledger.senders.iter_mut().enumerate() {
                while s.in_flight < window {
                    let seq = s.seq;
                    let len = a.payload;
                    pool.send_with(s.id, |_, out| {
                        payload::write(out, CHANNEL, i, seq, origin, len)
                    });
                    s.seq += 1;
                    s.in_flight += 1;
                    s.missing.push_back(Slot {
                        missing: s.per_message,
                        msgid: 0,
                        time: 0,
                    });
                    ledger.sent += 1;
                }
            }
        } else if ledger.in_flight() == 0 {
            break;
        } else if now > send_until + DRAIN {
            drained = false;
            break;
        }
        pool.turn(
            Duration::from_millis(5),
            &mut |p: &mut Pool, id, line: &[u8]| {
                let Event::Other(l) = p.on_line(id, line) else {
                    return;
                };
                if l.command != "PRIVMSG" {
                    return;
                }
                let Some((from, seq, lat)) = payload::read(l.last(), origin) else {
                    return;
                };
                let (i, got) = p.get(id).map_or((0, 0), |c| (c.tag, c.irc.caps_acked));
                let g = &mut groups[group_of(i, senders)];
                g.lines += 1;
                if let Some(why) = wrong_form(&l, got) {
                    g.wrong += 1;
                    first_wrong.get_or_insert_with(|| {
                        format!(
                            "member {i} (granted: {}) got {why}: {}",
                            cap::names(got),
                            String::from_utf8_lossy(line)
                        )
                    });
                }
                ledger.receipt(from, seq, lat, l.tag("msgid"), l.tag("time"));
            },
        )?;
        steps::check_no_drops(&pool, drops, "fanout messages")?;
    }
    let wrong: u64 = groups.iter().map(|g| g.wrong).sum();
    if wrong > 0 || ledger.mismatches > 0 {
        return Err(io::Error::other(format!(
            "fanout --caps {}: {wrong} lines not of the form their receiver's capabilities imply, \
             {} receipts whose msgid or time differ from another receiver's of the same message; first: {}",
            mix.name(),
            ledger.mismatches,
            first_wrong.as_deref().unwrap_or("–"),
        )));
    }
    let s_quit = Snapshot::take(t.pid)?;
    let bytes_in = pool.counters.bytes_in - bytes_before;
    let lines_in = pool.counters.lines_in - lines_before;
    r.memory(t.pid);
    r.counters(&pool.counters);
    let mut quit_lines = 0u64;
    steps::quit_all(&mut pool, &ids, limit, &mut |cmd| {
        if cmd == "QUIT" {
            quit_lines += 1;
        }
    })?;
    let s_end = Snapshot::take(t.pid)?;

    let joins = s_msg.since(&s_join);
    let msgs = s_quit.since(&s_msg);
    let quits = s_end.since(&s_quit);
    let expected: u64 = ledger
        .senders
        .iter()
        .map(|s| s.seq * s.per_message as u64)
        .sum();
    let echoes: u64 = ledger
        .senders
        .iter()
        .filter(|s| s.per_message as usize == members)
        .map(|s| s.seq)
        .sum();
    let delivered = ledger.delivered as f64;
    r.metric("messages_sent", ledger.sent);
    r.metric("lines_expected", expected);
    r.metric("lines_delivered", ledger.delivered);
    r.metric("lines_lost", expected.saturating_sub(ledger.delivered));
    r.metric("stray_lines", ledger.strays);
    r.metric("echo_lines_expected", echoes);
    r.metric("lines_checked", groups.iter().map(|g| g.lines).sum::<u64>());
    r.metric("wrong_form_lines", wrong);
    r.metric("tag_mismatches", ledger.mismatches);
    r.metric(
        "mean_line_bytes",
        round(ratio(bytes_in as f64, lines_in as f64), 1),
    );
    r.metric(
        "delivered_lines_per_s",
        round(ratio(delivered, msgs.wall_s), 0),
    );
    r.latency("latency", &ledger.latency);
    r.usage("messages", &msgs);
    r.metric(
        "server_cpu_s_per_million_lines",
        round(ratio(msgs.server_cpu_s * 1e6, delivered), 4),
    );
    r.metric(
        "generator_cpu_s_per_million_lines",
        round(ratio(msgs.generator_cpu_s * 1e6, delivered), 4),
    );
    r.usage("join", &joins);
    r.metric("join_lines_delivered", join_lines);
    r.metric(
        "join_server_cpu_us_per_line",
        round(ratio(joins.server_cpu_s * 1e6, join_lines as f64), 4),
    );
    r.metric(
        "join_server_cpu_ms_per_join",
        round(ratio(joins.server_cpu_s * 1e3, members as f64), 4),
    );
    r.usage("quit", &quits);
    r.metric("quit_lines_delivered", quit_lines);
    r.metric(
        "quit_server_cpu_us_per_line",
        round(ratio(quits.server_cpu_s * 1e6, quit_lines as f64), 4),
    );
    if mix == CapMix::Mixed {
        report_caps(&mut r, &t.server, &acked, &groups, senders);
    }
    if !drained {
        r.note(format!(
            "{} messages still in flight {DRAIN:?} after sending stopped",
            ledger.in_flight()
        ));
    }
    r.note("senders are members 0..S; each message is expected by the M-1 other members (and by its sender when echo-message was granted); rates and CPU of the message phase include the drain after sending stops");
    r.note("every PRIVMSG was checked against its receiver's granted capabilities: msgid iff message-tags, time iff server-time, no other tag without message-tags, one msgid and time per message");
    r.note("join/quit: every member joins (QUITs) once; lines delivered grow as M^2/2, so a constant CPU per line means linear per-JOIN/QUIT cost");
    Ok(r)
}

/// The capability side of `--caps mixed`: what was asked and granted
/// (`caps_asked_*` parameters, `caps_acked_*` metrics), the tag forms
/// the grants imply, and each group's members, grants and lines.
fn report_caps(r: &mut Report, server: &str, acked: &[u8], groups: &[Tally], senders: usize) {
    let mut granted = Vec::new();
    for (bit, name) in cap::ALL {
        let key = name.replace('-', "_");
        let asked = (0..acked.len())
            .filter(|&i| caps_of(CapMix::Mixed, i, senders) & bit != 0)
            .count();
        let got = acked.iter().filter(|&&c| c & bit != 0).count();
        r.param(&format!("caps_asked_{key}"), asked);
        r.metric(&format!("caps_acked_{key}"), got);
        granted.push(format!("{name} {got} of {asked}"));
    }
    // The bytes of a relayed PRIVMSG depend on message-tags and server-time
    // only (echo-message decides who gets it, not its form).
    let mut forms: Vec<u8> = acked
        .iter()
        .map(|c| c & (MESSAGE_TAGS | SERVER_TIME))
        .collect();
    forms.sort_unstable();
    forms.dedup();
    r.metric("tag_forms", forms.len());
    for (g, (name, _)) in groups.iter().zip(GROUPS) {
        r.metric(&format!("group_{name}_members"), g.members);
        r.metric(&format!("group_{name}_acked_as_asked"), g.acked_as_asked);
        r.metric(&format!("group_{name}_lines"), g.lines);
    }
    let groups: Vec<String> = GROUPS
        .iter()
        .map(|(name, asked)| format!("{name}: {}", cap::names(*asked)))
        .collect();
    r.note(format!(
        "caps mixed: senders request message-tags server-time echo-message, receivers a quarter each none, message-tags, server-time, both ({}); one CAP REQ per capability",
        groups.join("; ")
    ));
    r.note(format!(
        "{server} granted: {}; {} tag forms of each message among the members",
        granted.join(", "),
        forms.len()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIME: &str = "2026-11-25T10:00:00.000Z";

    fn form(raw: &str, acked: u8) -> Option<&'static str> {
        wrong_form(&Line::parse(raw.as_bytes()).unwrap(), acked)
    }

    #[test]
    fn groups_split_receivers_in_quarters() {
        let counts = (0..105).fold([0; GROUPS.len()], |mut n, i| {
            n[group_of(i, 5)] += 1;
            n
        });
        assert_eq!(counts, [25, 25, 25, 25, 5]);
        assert_eq!(caps_of(CapMix::None, 0, 5), 0);
        assert_eq!(
            caps_of(CapMix::Mixed, 0, 5),
            MESSAGE_TAGS | SERVER_TIME | ECHO_MESSAGE
        );
        assert_eq!(caps_of(CapMix::Mixed, 5, 5), 0);
        assert_eq!(caps_of(CapMix::Mixed, 8, 5), MESSAGE_TAGS | SERVER_TIME);
    }

    #[test]
    fn a_line_must_carry_exactly_the_tags_granted() {
        let both = MESSAGE_TAGS | SERVER_TIME;
        let plain = ":n!u@h PRIVMSG #fan :0 1 2 xx";
        let timed = format!("@time={TIME} {plain}");
        let tagged = format!("@msgid=abc {plain}");
        let full = format!("@time={TIME};msgid=abc;inspircd.org/echo {plain}");
        assert_eq!(form(plain, 0), None);
        assert_eq!(form(&timed, SERVER_TIME), None);
        assert_eq!(form(&tagged, MESSAGE_TAGS), None);
        assert_eq!(form(&full, both), None);
        assert_eq!(form(&full, both | ECHO_MESSAGE), None);
        // Missing, unasked, malformed.
        assert_eq!(
            form(plain, MESSAGE_TAGS),
            Some("no msgid with message-tags")
        );
        assert_eq!(form(plain, SERVER_TIME), Some("no time with server-time"));
        assert_eq!(form(&tagged, 0), Some("a msgid without message-tags"));
        assert_eq!(
            form(&timed, MESSAGE_TAGS),
            Some("no msgid with message-tags")
        );
        assert_eq!(form(&timed, 0), Some("a time without server-time"));
        assert_eq!(
            form(&full, SERVER_TIME),
            Some("a msgid without message-tags")
        );
        assert_eq!(
            form(&format!("@msgid= {plain}"), MESSAGE_TAGS),
            Some("an empty msgid")
        );
        assert!(form(&format!("@time=2026-11-25T10:00:00Z {plain}"), SERVER_TIME).is_some());
        assert_eq!(
            form(&format!("@time={TIME};+draft/x=1 {plain}"), SERVER_TIME),
            Some("a tag other than time without message-tags")
        );
        assert!(is_time(TIME) && !is_time("2026-11-25 10:00:00.000Z") && !is_time(""));
    }

    fn ledger(per_message: u32) -> Ledger {
        let mut l = Ledger {
            senders: vec![Sender {
                id: 0,
                seq: 2,
                in_flight: 2,
                per_message,
                missing: VecDeque::new(),
                base: 0,
            }],
            sent: 2,
            delivered: 0,
            strays: 0,
            mismatches: 0,
            latency: Histogram::default(),
        };
        for _ in 0..2 {
            l.senders[0].missing.push_back(Slot {
                missing: per_message,
                msgid: 0,
                time: 0,
            });
        }
        l
    }

    #[test]
    fn receivers_of_one_message_must_agree_on_its_tags() {
        let mut l = ledger(3);
        l.receipt(0, 0, 5, Some("m0"), Some(TIME));
        l.receipt(0, 0, 5, None, None);
        l.receipt(0, 0, 5, Some("m0"), Some(TIME));
        assert_eq!((l.mismatches, l.in_flight(), l.senders[0].base), (0, 1, 1));
        l.receipt(0, 1, 5, Some("m1"), None);
        l.receipt(0, 1, 5, Some("m1-other"), None);
        l.receipt(0, 1, 5, None, Some(TIME));
        assert_eq!((l.mismatches, l.in_flight()), (1, 0));
        // A receipt beyond what was expected, or from nobody, is a stray.
        l.receipt(0, 1, 5, None, None);
        l.receipt(7, 0, 5, None, None);
        assert_eq!((l.strays, l.delivered), (2, 8));
    }
}
