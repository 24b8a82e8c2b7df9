//! Who hears of a change to a user, and the changes several issues
//! trigger: events from a user carry its `account` and `bot` tags
//! (`user_event`); a change (AWAY, SETNAME, CHGHOST, ACCOUNT) reaches the
//! peers sharing a channel with the user that negotiated the matching
//! capability, and, with `extended-monitor`, the clients MONITORing its
//! nick that did (`send_change`); the account (`set_account`: login and
//! logout, `ACCOUNT` for `account-notify`) and the displayed user@host
//! (`set_host`: `CHGHOST` for `chghost`).
//!
//! Methods on `State`; no replies to commands here. Imports `proto` and
//! `state`.

use crate::proto::{caps, casemap};
use crate::state::client::UserModes;
use crate::state::event::Event;
use crate::state::{ClientId, State};

/// Does the user whose change it is get the change too?
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ToSelf {
    /// No (AWAY: it has 305/306).
    Never,
    /// When it negotiated the capability (CHGHOST, ACCOUNT).
    IfCap,
    /// Always (SETNAME is echoed whatever the client negotiated).
    Always,
}

impl State {
    /// A message from client `from` (whose `nick!user@host` is `source`),
    /// stamped like `event`, with the sender's `account` (for
    /// `account-tag`) and `bot` (user mode +B) tags.
    pub fn user_event<'a>(
        &mut self,
        from: ClientId,
        source: &'a str,
        command: &'a str,
        middle: &'a [&'a str],
        trailing: Option<&'a str>,
    ) -> Event<'a> {
        let mut ev = self.event(Some(source), command, middle, trailing);
        self.tag_sender(from, &mut ev);
        ev
    }

    /// Sets the tags an event takes from its sender: `account` (for
    /// `account-tag`) and `bot` (user mode +B). `user_event` does it; events
    /// built by hand (a multiline batch's lines) call it themselves.
    pub fn tag_sender(&self, from: ClientId, ev: &mut Event) {
        if let Some(c) = self.clients.get(from) {
            ev.account = c.account().map(Box::from);
            ev.bot = c.modes.has(UserModes::BOT);
        }
    }

    /// Sends `ev`, a change to client `id`, to every peer sharing a
    /// channel with it that has `cap`, to every client MONITORing its nick
    /// that has `cap` and `extended-monitor`, each once, and to `id`
    /// itself as `to_self` says.
    pub fn send_change(&mut self, id: ClientId, cap: u64, ev: &mut Event, to_self: ToSelf) {
        let mut to: Vec<ClientId> = self
            .common_peers(id, false)
            .into_iter()
            .filter(|&p| self.clients[p].has_cap(cap))
            .collect();
        // common_peers stamped itself and every peer it found with this
        // visit stamp: a watcher that has it was already counted.
        let stamp = self.visit_stamp;
        if !self.monitors.is_empty() {
            let nick = casemap::fold(self.clients[id].nick());
            let watchers = self
                .monitors
                .get(nick.as_str())
                .cloned()
                .unwrap_or_default();
            for w in watchers {
                if let Some(c) = self.clients.get_mut(w) {
                    if c.visit != stamp
                        && c.has_cap(cap)
                        && c.has_cap(caps::EXTENDED_MONITOR)
                        && c.registered
                    {
                        c.visit = stamp;
                        to.push(w);
                    }
                }
            }
        }
        for peer in to {
            self.send_event(peer, ev);
        }
        let own = match to_self {
            ToSelf::Never => false,
            ToSelf::IfCap => self.clients.get(id).is_some_and(|c| c.has_cap(cap)),
            ToSelf::Always => true,
        };
        if own {
            self.send_event(id, ev);
        }
    }

    /// Logs client `id` in to `account` (`None`: out). Peers with
    /// `account-notify` (and extended-monitor watchers) get
    /// `ACCOUNT <account>` or `ACCOUNT *` once it is registered; before
    /// that (SASL) nobody can see it yet.
    pub fn set_account(&mut self, id: ClientId, account: Option<&str>) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.account() == account {
            return;
        }
        match account {
            Some(a) => c.extra_mut().account = Some(a.into()),
            None => {
                if let Some(e) = c.extra.as_deref_mut() {
                    e.account = None;
                }
                c.tidy_extra();
            }
        }
        if !c.registered {
            return;
        }
        let mask = c.mask();
        let middle = [account.unwrap_or("*")];
        let mut ev = self.user_event(id, &mask, "ACCOUNT", &middle, None);
        self.send_change(id, caps::ACCOUNT_NOTIFY, &mut ev, ToSelf::IfCap);
    }

    /// Changes the user name and host client `id` is shown with (an oper
    /// vhost, a cloak). Peers with `chghost` (and extended-monitor
    /// watchers) get `CHGHOST <user> <host>` from the old mask; the
    /// others see the new mask on its next message, as with Ergo.
    pub fn set_host(&mut self, id: ClientId, user: Option<&str>, host: &str) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        let user = user.unwrap_or(c.user()).to_owned();
        if user == c.user() && host == c.host() {
            return;
        }
        let old_mask = c.mask();
        c.id.set_user(&user);
        c.id.set_host(host);
        if !c.registered {
            return;
        }
        let middle = [user.as_str(), host];
        let mut ev = self.user_event(id, &old_mask, "CHGHOST", &middle, None);
        self.send_change(id, caps::CHGHOST, &mut ev, ToSelf::IfCap);
    }
}

#[cfg(test)]
mod tests {
    use crate::proto::caps;
    use crate::state::testutil::Harness;

    /// alice and bob share #c; carol shares nothing but MONITORs alice.
    fn trio(bob_caps: u64, carol_caps: u64) -> (Harness, usize, usize, usize) {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        h.s.clients[b].caps |= bob_caps;
        h.s.clients[c].caps |= carol_caps;
        h.line(a, "JOIN #c");
        h.line(b, "JOIN #c");
        h.line(c, "MONITOR + alice");
        for id in [a, b, c] {
            h.take(id);
        }
        (h, a, b, c)
    }

    #[test]
    fn account_notify_and_account_tag() {
        let (mut h, a, b, c) = trio(
            caps::ACCOUNT_NOTIFY | caps::ACCOUNT_TAG,
            caps::ACCOUNT_NOTIFY | caps::EXTENDED_MONITOR,
        );
        h.s.set_account(a, Some("Alice"));
        let mask = h.s.clients[a].mask();
        assert_eq!(h.take(b), [format!("@account=Alice :{mask} ACCOUNT Alice")]);
        assert_eq!(h.take(c), [format!(":{mask} ACCOUNT Alice")]);
        assert!(h.take(a).is_empty(), "alice has no account-notify");
        assert_eq!(h.s.clients[a].account(), Some("Alice"));
        // account-tag on what alice sends from now on.
        h.line(a, "PRIVMSG #c :hi");
        assert_eq!(
            h.take(b),
            [format!("@account=Alice :{mask} PRIVMSG #c :hi")]
        );
        // The same account again changes nothing; logout is `*`.
        h.s.set_account(a, Some("Alice"));
        assert!(h.take(b).is_empty());
        h.s.set_account(a, None);
        assert_eq!(h.take(b), [format!(":{mask} ACCOUNT *")]);
        assert_eq!(h.take(c), [format!(":{mask} ACCOUNT *")]);
        assert!(h.s.clients[a].extra.is_none(), "cold fields freed");
    }

    #[test]
    fn monitor_watchers_need_extended_monitor_and_the_cap() {
        let (mut h, a, b, c) = trio(0, caps::ACCOUNT_NOTIFY);
        h.s.set_account(a, Some("alice"));
        assert!(h.take(b).is_empty(), "bob lacks account-notify");
        assert!(h.take(c).is_empty(), "carol lacks extended-monitor");
    }

    #[test]
    fn chghost_reaches_cap_holders_from_the_old_mask() {
        let (mut h, a, b, c) = trio(caps::CHGHOST, caps::CHGHOST | caps::EXTENDED_MONITOR);
        h.s.clients[a].caps |= caps::CHGHOST;
        let old = h.s.clients[a].mask();
        h.s.set_host(a, None, "staff.example");
        let user = h.s.clients[a].user().to_owned();
        let line = format!(":{old} CHGHOST {user} staff.example");
        assert_eq!(h.take(b), std::slice::from_ref(&line));
        assert_eq!(h.take(c), std::slice::from_ref(&line));
        assert_eq!(h.take(a), [line]);
        assert_eq!(h.s.clients[a].host(), "staff.example");
        // Nothing changes: nothing is sent.
        h.s.set_host(a, None, "staff.example");
        assert!(h.take(b).is_empty());
    }

    #[test]
    fn a_watcher_sharing_a_channel_hears_once() {
        let (mut h, a, b, _c) = trio(caps::CHGHOST | caps::EXTENDED_MONITOR, 0);
        h.line(b, "MONITOR + alice");
        h.take(b);
        h.s.set_host(a, None, "v.example");
        assert_eq!(h.take(b).len(), 1);
    }
}
