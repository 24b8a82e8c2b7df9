//! Accounts, on the state side: the datastore (`store::Store`, its tables
//! in memory), which nicks belong to which account, logging in and out,
//! login throttling, and the replies waiting for a change to be durable.
//!
//! A change is applied in memory at once (so a second REGISTER of the same
//! name is refused at once) and handed to the datastore's writer thread;
//! `net` calls `store_poll` when the writer has news. Only once the change
//! is on disk is the user told it worked; if the write failed, the store
//! has rolled it back and the user is told it did not. Nothing here waits
//! for the disk. Imports `store`, `proto::casemap`, `proto::sasl` (SCRAM
//! keys) and the services' notices.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::jobs::{Creds, HashFailure, Hashed, Job};
use super::services::{self, nickserv::NICKSERV, Service};
use super::{ClientId, State};
use crate::config::NickEnforcement;
use crate::proto::casemap;
use crate::proto::numeric::*;
use crate::store::{Account, Change, Db, Enforce, Event, Key, Record, ScramCreds, Seq, Store};
use crate::{log_info, log_warn};

/// How a client logged in (what it is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// NickServ IDENTIFY/REGISTER: a NOTICE from NickServ.
    NickServ,
    /// SASL: 900 and 903.
    Sasl,
    /// draft/account-registration's REGISTER: 900.
    Register,
}

/// What to tell, and do, once a change is durable.
#[derive(Debug, Clone)]
pub enum After {
    /// A new account: "Account created", then log the client in.
    Registered { account: String, via: Via },
    /// A NOTICE from a service.
    Notice(&'static Service, String),
    /// NS SET: "Successfully changed your account settings" and the value.
    Setting(&'static Service, String),
    /// NS PASSWD: "Password changed".
    PasswordChanged(&'static Service),
    /// An account deleted: the notice, then everyone logged in to it is
    /// logged out.
    Unregistered(&'static Service, String, String),
    /// Nothing to tell (a registered channel's modes or topic kept).
    Quiet,
    /// CS REGISTER: the notice and the founder's +q (`chanserv`).
    ChannelRegistered(String),
    /// A server NOTICE (not a service's): `done` once durable, `failed`
    /// if the write failed (oper commands: KLINE, DLINE...).
    ServerNotice { done: String, failed: String },
}

/// A reply waiting for its change to be on disk.
#[derive(Debug)]
struct Waiting {
    client: ClientId,
    serial: u64,
    key: Key,
    after: After,
}

/// Why an account cannot be registered (`State::registration_refusal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `[accounts] registration = false` (and not an oper with `accreg`).
    Disabled,
    /// Not a valid nick, or a service's.
    BadName,
    /// `Guest<digits>`: the names nick enforcement renames to.
    Guest,
    /// The name is an account's, or a nick grouped with one.
    Exists,
    /// Too long, or with NUL, CR or LF.
    BadPassword,
}

impl Refused {
    /// NickServ's words (Ergo's).
    pub fn text(self) -> &'static str {
        match self {
            Refused::Disabled => "That feature is disabled",
            Refused::BadName => "Account could not be created",
            Refused::Guest => "Guest nicknames cannot be registered",
            Refused::Exists => "Account already exists",
            Refused::BadPassword => {
                "Passphrase contains forbidden characters or is otherwise invalid"
            }
        }
    }
}

/// A registration that failed after its checks passed (`register_failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// The name was taken while the password was hashed.
    Exists,
    /// The client logged in meanwhile.
    LoggedIn,
    /// Hashing, or the datastore, failed.
    Unavailable,
}

impl Fail {
    /// NickServ's notice.
    fn notice(self) -> &'static str {
        match self {
            Fail::Exists => "Account already exists",
            Fail::LoggedIn => "You're already logged into an account",
            Fail::Unavailable => "Could not register",
        }
    }

    /// draft/account-registration's code and text.
    fn fail(self) -> (&'static str, &'static str) {
        match self {
            Fail::Exists => (
                "ACCOUNT_EXISTS",
                "Username is already registered or otherwise unavailable",
            ),
            Fail::LoggedIn => (
                "ALREADY_AUTHENTICATED",
                "You have already registered or attempted to register",
            ),
            Fail::Unavailable => ("TEMPORARILY_UNAVAILABLE", "Could not register"),
        }
    }
}

/// Failed logins counted per account and per address.
#[derive(Debug, Default)]
struct Throttle {
    /// (failures in the window, window start).
    by_key: HashMap<String, (u32, Instant)>,
}

/// Failed logins allowed per `THROTTLE_WINDOW`, per account and per IP.
pub const THROTTLE_ATTEMPTS: u32 = 3;
/// Failed logins allowed per `THROTTLE_WINDOW` against one account, from
/// any address (more than per address, so that a guesser cannot lock an
/// owner out as easily).
pub const THROTTLE_ACCOUNT_ATTEMPTS: u32 = 10;
/// The window of `THROTTLE_ATTEMPTS`, and of `[accounts]
/// registrations-per-minute`.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(60);

/// Addresses whose registrations are counted at once; past this, those
/// whose window is over are forgotten (memory stays bounded under a
/// flood from many addresses).
const REGISTRATION_ADDRESSES: usize = 4096;

/// The accounts' state, held by `State`.
#[derive(Default)]
pub struct Accounts {
    /// The datastore; None only in unit tests that need no accounts.
    pub store: Option<Store>,
    /// Folded nick (account names and grouped nicks) → folded account.
    nicks: HashMap<String, String>,
    /// Folded account → the folded nicks it holds in `nicks` (so that an
    /// account's change touches its own entries, not the whole index).
    owned: HashMap<String, Vec<String>>,
    /// Replies by the sequence number of their change, oldest first.
    waiting: BTreeMap<u64, Waiting>,
    throttle: Throttle,
    /// draft/read-marker, per folded account: (folded target, UNIX ms).
    pub read_markers: HashMap<String, Vec<(Box<str>, u64)>>,
    /// Registrations (REGISTER and NS REGISTER) per address (window start).
    registrations: Throttle,
}

impl Accounts {
    /// The accounts of an open datastore.
    pub fn new(store: Store) -> Accounts {
        let mut a = Accounts {
            store: Some(store),
            ..Accounts::default()
        };
        a.reindex();
        a
    }

    /// The tables, if there is a datastore.
    pub fn db(&self) -> Option<&Db> {
        self.store.as_ref().map(Store::db)
    }

    /// Rebuilds the nick → account index from the tables.
    fn reindex(&mut self) {
        let mut index = HashMap::new();
        let mut owned: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(db) = self.db() {
            for (owner, account) in db.accounts() {
                for nick in std::iter::once(&account.name).chain(&account.nicks) {
                    let folded = casemap::fold(nick);
                    owned
                        .entry(owner.to_owned())
                        .or_default()
                        .push(folded.clone());
                    index.insert(folded, owner.to_owned());
                }
            }
        }
        self.nicks = index;
        self.owned = owned;
    }

    /// Updates the nick index after the record under `key` changed.
    fn reindex_key(&mut self, key: &Key) {
        let Key::Account(folded) = key else { return };
        for old in self.owned.remove(folded).unwrap_or_default() {
            if self.nicks.get(&old) == Some(folded) {
                self.nicks.remove(&old);
            }
        }
        let nicks: Vec<String> = self
            .db()
            .and_then(|db| db.account(folded))
            .map(|a| {
                std::iter::once(&a.name)
                    .chain(&a.nicks)
                    .map(|n| casemap::fold(n))
                    .collect()
            })
            .unwrap_or_default();
        for nick in &nicks {
            self.nicks.insert(nick.clone(), folded.clone());
        }
        if !nicks.is_empty() {
            self.owned.insert(folded.clone(), nicks);
        }
    }

    /// Replies still waiting for the disk.
    pub fn unacknowledged(&self) -> usize {
        self.waiting.len()
    }
}

/// The key of an account name.
fn account_key(name: &str) -> Key {
    Key::Account(casemap::fold(name))
}

/// SCRAM-SHA-256 credentials for `password` with a fresh random salt;
/// None for a password SASLprep refuses (PLAIN still works with it).
pub fn scram_creds(password: &str, iterations: u32) -> Option<ScramCreds> {
    use ring::rand::SecureRandom;
    let mut salt = [0u8; 16];
    // SystemRandom only fails when the OS has no entropy source at all.
    let _ = ring::rand::SystemRandom::new().fill(&mut salt);
    let c = crate::proto::sasl::scram::Credentials::derive(password, &salt, iterations).ok()?;
    Some(ScramCreds {
        salt: salt.to_vec(),
        iterations,
        stored_key: c.stored_key,
        server_key: c.server_key,
    })
}

/// The code NS UNREGISTER asks for: eight hex digits from the account's
/// name and registration time, as Ergo's `utils.ConfirmationCode`
/// (deterministic, so the owner can be shown it and asked to repeat it).
pub fn confirmation_code(name: &str, registered: u64) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{name}\0{registered}").as_bytes(),
    );
    digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl State {
    /// The account called `name` (any case).
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.db()?.account(&casemap::fold(name))
    }

    /// The account that owns `nick` (its name, or a grouped nick).
    pub fn nick_owner(&self, nick: &str) -> Option<&Account> {
        let owner = self.accounts.nicks.get(&casemap::fold(nick))?;
        self.accounts.db()?.account(owner)
    }

    /// May `id` not take `nick`? A service's nick, or a nick of an
    /// account with strict enforcement that `id` is not logged in to.
    pub fn nick_reserved_from(&self, id: ClientId, nick: &str) -> bool {
        if services::is_reserved(&casemap::fold(nick)) {
            return true;
        }
        let Some(owner) = self.nick_owner(nick) else {
            return false;
        };
        let mine = self.clients[id]
            .account()
            .is_some_and(|a| casemap::eq(a, &owner.name));
        !mine && self.effective_enforce(owner.settings.enforce) == NickEnforcement::Strict
    }

    /// Registered channels whose founder is `account`, by name.
    pub fn channels_founded_by(&self, account: &str) -> Vec<String> {
        let folded = casemap::fold(account);
        let mut names: Vec<String> = self
            .accounts
            .db()
            .into_iter()
            .flat_map(|db| db.channels())
            .filter(|(_, c)| c.founder == folded)
            .map(|(_, c)| c.name.clone())
            .collect();
        names.sort();
        names
    }

    /// The enforcement that applies to an account's setting.
    pub fn effective_enforce(&self, stored: Enforce) -> NickEnforcement {
        match stored {
            Enforce::Default => self.config.accounts.enforcement,
            Enforce::None => NickEnforcement::None,
            Enforce::Strict => NickEnforcement::Strict,
        }
    }

    /// Why `name` cannot be registered now, in Ergo's words; None if it can.
    pub fn registration_refused(
        &self,
        id: ClientId,
        name: &str,
        password: &str,
    ) -> Option<&'static str> {
        self.registration_refusal(id, name, password)
            .map(Refused::text)
    }

    /// Why `name` cannot be registered now; None if it can (NS REGISTER
    /// and draft/account-registration's REGISTER share these checks).
    pub fn registration_refusal(
        &self,
        id: ClientId,
        name: &str,
        password: &str,
    ) -> Option<Refused> {
        if !self.config.accounts.registration && !self.clients[id].has_oper_cap("accreg") {
            return Some(Refused::Disabled);
        }
        if !casemap::valid_nick(name, self.config.limits.nicklen)
            || services::is_reserved(&casemap::fold(name))
        {
            return Some(Refused::BadName);
        }
        if is_guest_name(name) {
            return Some(Refused::Guest);
        }
        if self.nick_owner(name).is_some() {
            return Some(Refused::Exists);
        }
        if password.len() > 300 || password.contains(['\0', '\r', '\n']) {
            return Some(Refused::BadPassword);
        }
        None
    }

    /// Queues the hashing of a new password on the worker.
    pub fn hash_password(&mut self, id: ClientId, password: String, then: Hashed) {
        let c = &mut self.clients[id];
        c.reg.check_pending = true;
        let serial = c.serial;
        self.jobs.push(Job::Hash {
            client: id,
            serial,
            password,
            cost: self.config.server.bcrypt_cost,
            scram_iterations: self.config.accounts.scram_iterations,
            then,
        });
    }

    /// Applies `change` in memory and queues it for the disk; `after`
    /// runs once it is durable (the user is told it failed otherwise).
    pub fn commit(&mut self, id: ClientId, change: Change, after: After) {
        let key = change.key().clone();
        let submitted = match self.accounts.store.as_mut() {
            Some(store) => store.submit(change).map_err(|e| e.to_string()),
            None => Err("no datastore".to_string()),
        };
        let serial = self.clients.get(id).map_or(0, |c| c.serial);
        match submitted {
            Ok(seq) => {
                self.accounts.reindex_key(&key);
                self.accounts.waiting.insert(
                    seq.0,
                    Waiting {
                        client: id,
                        serial,
                        key,
                        after,
                    },
                );
                // A change made before connection registration (REGISTER
                // with draft/account-registration's before-connect) holds
                // it until the change is on disk or undone, so the reply
                // and the login come before 001 (`release_registration`).
                if let Some(c) = self.clients.get_mut(id).filter(|c| !c.registered) {
                    c.reg.check_pending = true;
                }
            }
            Err(e) => {
                log_warn!("accounts", "a datastore change was refused: {e}");
                self.tell_failed(id, serial, &after);
            }
        }
    }

    /// Takes the datastore's news (`net` calls it when the writer wakes
    /// the loop): replies for what is on disk, failures for what was
    /// rolled back, and the log lines of a compaction.
    pub fn store_poll(&mut self) {
        let Some(store) = self.accounts.store.as_mut() else {
            return;
        };
        let events = store.poll();
        self.store_events(events);
    }

    /// Waits (bounded) for the changes in flight at shutdown, so their
    /// replies go out before the last flush.
    pub fn store_finish(&mut self, timeout: Duration) {
        let Some(store) = self.accounts.store.as_mut() else {
            return;
        };
        let events = store.wait_idle(timeout);
        self.store_events(events);
    }

    fn store_events(&mut self, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Durable(Seq(upto)) => {
                    let rest = self.accounts.waiting.split_off(&(upto + 1));
                    let done = std::mem::replace(&mut self.accounts.waiting, rest);
                    for (_, w) in done {
                        if self.alive(w.client, w.serial) {
                            self.after_commit(w.client, w.after);
                            self.release_registration(w.client, w.serial);
                        }
                    }
                }
                Event::Failed { seqs, error } => {
                    log_warn!(
                        "accounts",
                        "datastore write failed, {} change(s) undone: {error}",
                        seqs.len()
                    );
                    for Seq(seq) in seqs {
                        if let Some(w) = self.accounts.waiting.remove(&seq) {
                            self.accounts.reindex_key(&w.key);
                            self.tell_failed(w.client, w.serial, &w.after);
                            self.release_registration(w.client, w.serial);
                        }
                    }
                }
                Event::Compacted { before, after } => {
                    log_info!("accounts", "datastore compacted: {before} → {after} bytes");
                }
                Event::CompactFailed(e) => log_warn!("accounts", "datastore compaction: {e}"),
            }
        }
    }

    /// Connection registration held by `commit` goes on once the change
    /// is settled (on disk, or undone and the user told).
    fn release_registration(&mut self, id: ClientId, serial: u64) {
        if !self.alive(id, serial) {
            return;
        }
        let c = &mut self.clients[id];
        if c.registered || !c.reg.check_pending {
            return;
        }
        c.reg.check_pending = false;
        super::handlers::registration::try_register(self, id);
        self.recount(id);
    }

    fn alive(&self, id: ClientId, serial: u64) -> bool {
        self.clients
            .get(id)
            .is_some_and(|c| c.serial == serial && !c.dead)
    }

    /// Tells the user whose change could not be written.
    fn tell_failed(&mut self, id: ClientId, serial: u64, after: &After) {
        if !self.alive(id, serial) {
            return;
        }
        let (svc, text) = match after {
            After::Registered {
                account,
                via: Via::Register,
            } => {
                let account = account.clone();
                return self.register_failed(id, false, &account, Fail::Unavailable);
            }
            After::ServerNotice { failed, .. } => return self.notice(id, failed),
            After::Registered { .. } => (&NICKSERV, "Could not register"),
            After::Quiet | After::ChannelRegistered(_) => {
                (&super::services::chanserv::CHANSERV, "An error occurred")
            }
            After::Notice(svc, _)
            | After::Setting(svc, _)
            | After::PasswordChanged(svc)
            | After::Unregistered(svc, _, _) => (*svc, "An error occurred"),
        };
        services::notice(self, id, svc, text);
    }

    fn after_commit(&mut self, id: ClientId, after: After) {
        match after {
            After::Registered { account, via } => {
                let mask = self.clients[id].mask();
                match via {
                    Via::NickServ => services::notice(self, id, &NICKSERV, "Account created"),
                    Via::Register | Via::Sasl => self.send_from_server(
                        id,
                        "REGISTER",
                        &["SUCCESS", &account],
                        Some("Account successfully registered"),
                    ),
                }
                let text = format!("Client {mask} registered account {account}");
                self.snotice(super::snomask::ACCOUNTS, &text);
                // A SASL login that completed while this account was being
                // written wins: the client stays where it logged in.
                if self.clients[id].account().is_none() {
                    self.log_in(id, &account, via);
                }
            }
            After::Notice(svc, text) => {
                if !text.is_empty() {
                    services::notice(self, id, svc, &text);
                }
            }
            After::Quiet => {}
            After::ChannelRegistered(name) => services::chanserv::registered_done(self, id, &name),
            After::Setting(svc, key) => {
                services::notice(self, id, svc, "Successfully changed your account settings");
                services::nickserv::show_setting(self, id, svc, &key);
            }
            After::PasswordChanged(svc) => services::notice(self, id, svc, "Password changed"),
            After::ServerNotice { done, .. } => self.notice(id, &done),
            After::Unregistered(svc, text, account) => {
                services::notice(self, id, svc, &text);
                let ids: Vec<ClientId> = self
                    .clients
                    .iter()
                    .filter(|(_, c)| c.account().is_some_and(|a| casemap::eq(a, &account)))
                    .map(|(i, _)| i)
                    .collect();
                for other in ids {
                    self.log_out(other);
                }
            }
        }
    }

    /// Logs `id` in to `account` (display name): the account tag, +r,
    /// account-notify, and what `via` says.
    pub fn log_in(&mut self, id: ClientId, account: &str, via: Via) {
        self.set_account(id, Some(account));
        if let Some(e) = self.clients[id].extra.as_deref_mut() {
            e.enforce_at = None;
        }
        let c = &mut self.clients[id];
        c.modes.set(super::client::UserModes::REGISTERED, true);
        let (nick, mask) = (c.nick().to_owned(), c.mask());
        match via {
            Via::NickServ => {
                let text = format!("You're now logged in as {account}");
                services::notice(self, id, &NICKSERV, &text);
            }
            Via::Sasl | Via::Register => {
                let text = format!("You are now logged in as {account}");
                self.numeric(id, RPL_LOGGEDIN, &[&mask, account], &text);
                if via == Via::Sasl {
                    self.numeric(id, RPL_SASLSUCCESS, &[], "Authentication successful");
                }
            }
        }
        if self.clients[id].registered {
            self.send_from_server(id, "MODE", &[&nick], Some("+r"));
        }
        log_info!("accounts", "client {nick} logged into account {account}");
        let text = format!("Client {mask} logged into account {account}");
        self.snotice(super::snomask::ACCOUNTS, &text);
    }

    /// With `timeout` enforcement, a client on a nick of an account it is
    /// not logged in to is warned and given the grace period to log in
    /// (or change nick) before it is renamed (`enforce_nick`).
    pub fn start_nick_enforcement(&mut self, id: ClientId, now: Instant) {
        let c = &self.clients[id];
        let nick = c.nick().to_owned();
        let Some(owner) = self.nick_owner(&nick) else {
            return;
        };
        let mine = c.account().is_some_and(|a| casemap::eq(a, &owner.name));
        if mine || self.effective_enforce(owner.settings.enforce) != NickEnforcement::Timeout {
            return;
        }
        let grace = self.config.accounts.enforcement_grace;
        let due = self.clock.stamp(now + grace);
        self.clients[id].extra_mut().enforce_at = Some((due, casemap::fold(&nick).into()));
        let text = format!(
            "This nickname is reserved by a different account. Please log in within {} (using /msg NickServ IDENTIFY <password> or SASL), or switch to a different nickname.",
            crate::config::values::format_duration(grace)
        );
        services::notice(self, id, &NICKSERV, &text);
        let c = &self.clients[id];
        if c.timer_due == super::clock::Stamp(0) || due < c.timer_due {
            self.schedule_deadline(id, due);
        }
    }

    /// The enforcement deadline of `id` has come (from `run_timers`): a
    /// client still on the reserved nick, not logged in to its account, is
    /// renamed to `Guest<n>`. Returns its next enforcement deadline, if any.
    pub fn enforce_nick(
        &mut self,
        id: ClientId,
        now: super::clock::Stamp,
    ) -> Option<super::clock::Stamp> {
        let (due, folded) = self.clients[id].extra.as_ref()?.enforce_at.clone()?;
        if due > now {
            return Some(due);
        }
        let c = &mut self.clients[id];
        if let Some(e) = c.extra.as_deref_mut() {
            e.enforce_at = None;
        }
        c.tidy_extra();
        let nick = c.nick().to_owned();
        let still = casemap::fold(&nick) == *folded;
        let owner = self.nick_owner(&nick).map(|a| a.name.clone());
        let mine = self.clients[id]
            .account()
            .zip(owner.as_deref())
            .is_some_and(|(a, o)| casemap::eq(a, o));
        if !still || owner.is_none() || mine {
            return None;
        }
        let mut n = self.clients[id].serial % 100_000;
        let guest = loop {
            let candidate = format!("Guest{n}");
            if !self.nicks.contains_key(casemap::fold(&candidate).as_str()) {
                break candidate;
            }
            n += 1;
        };
        services::notice(
            self,
            id,
            &NICKSERV,
            &format!("You did not log in in time: your nick is now {guest}"),
        );
        super::handlers::registration::change_nick(self, id, &guest);
        None
    }

    /// Logs `id` out (LOGOUT, an account deleted): 901, -r, account-notify.
    pub fn log_out(&mut self, id: ClientId) {
        if self.clients[id].account().is_none() {
            return;
        }
        self.set_account(id, None);
        let c = &mut self.clients[id];
        let was_r = c.modes.has(super::client::UserModes::REGISTERED);
        c.modes.set(super::client::UserModes::REGISTERED, false);
        let (nick, mask) = (c.nick().to_owned(), c.mask());
        self.numeric(id, RPL_LOGGEDOUT, &[&mask], "You are now logged out");
        if was_r && self.clients[id].registered {
            self.send_from_server(id, "MODE", &[&nick], Some("-r"));
        }
    }

    /// The worker's answer to NS IDENTIFY's password check.
    pub fn identify_checked(&mut self, id: ClientId, account: &str, ok: bool, now: Instant) {
        if ok {
            self.log_in(id, account, Via::NickServ);
        } else {
            self.login_failed(id, Some(account), now);
            services::notice(
                self,
                id,
                &NICKSERV,
                "Authentication failed: Invalid account credentials",
            );
        }
    }

    /// Tells the user why its registration failed: NickServ's notice, or
    /// draft/account-registration's `FAIL REGISTER <code> <account>`.
    pub fn register_failed(&mut self, id: ClientId, via_service: bool, account: &str, why: Fail) {
        if via_service {
            return services::notice(self, id, &NICKSERV, why.notice());
        }
        let (code, text) = why.fail();
        self.send_from_server(id, "FAIL", &["REGISTER", code, account], Some(text));
    }

    /// The worker's new credentials.
    pub fn hashed(&mut self, id: ClientId, then: Hashed, creds: Result<Creds, HashFailure>) {
        if let Hashed::Register {
            account,
            via_service: false,
            ..
        } = &then
        {
            // REGISTER: the client may have logged in (SASL) while the
            // hash was made; an account is not created for it then.
            if self.clients[id].account().is_some() {
                let account = account.clone();
                return self.register_failed(id, false, &account, Fail::LoggedIn);
            }
            if creds.is_err() {
                if let Err(HashFailure::Failed(e)) = &creds {
                    log_warn!("accounts", "hashing a password failed: {e}");
                }
                let account = account.clone();
                return self.register_failed(id, false, &account, Fail::Unavailable);
            }
        }
        let creds = match creds {
            Ok(c) => c,
            Err(HashFailure::WrongCurrent) => {
                return services::notice(self, id, &NICKSERV, "Password incorrect");
            }
            Err(HashFailure::Failed(e)) => {
                log_warn!("accounts", "hashing a password failed: {e}");
                return services::notice(self, id, &NICKSERV, "An error occurred");
            }
        };
        match then {
            Hashed::Register {
                account,
                email,
                certfp,
                via_service,
            } => {
                // The name may have been taken while the hash was made.
                if self.nick_owner(&account).is_some() {
                    return self.register_failed(id, via_service, &account, Fail::Exists);
                }
                let record = Account {
                    name: account.clone(),
                    password: creds.bcrypt,
                    scram: creds.scram,
                    email,
                    registered: self.now_secs(),
                    nicks: vec![account.clone()],
                    certfps: certfp.into_iter().collect(),
                    verified: true,
                    ..Account::default()
                };
                let via = if via_service {
                    Via::NickServ
                } else {
                    Via::Register
                };
                let change = Change::Put(account_key(&account), Record::Account(record));
                self.commit(id, change, After::Registered { account, via });
            }
            Hashed::Passwd { account, .. } => {
                let Some(mut record) = self.account(&account).cloned() else {
                    return services::notice(self, id, &NICKSERV, "Account does not exist");
                };
                record.password = creds.bcrypt;
                record.scram = creds.scram;
                let change = Change::Put(account_key(&account), Record::Account(record));
                self.commit(id, change, After::PasswordChanged(&NICKSERV));
            }
        }
    }

    /// The change that groups `nick` with `id`'s account, or why not.
    pub fn group_nick(&self, id: ClientId, nick: &str) -> Result<Change, &'static str> {
        let mine = self.clients[id]
            .account()
            .ok_or("You're not logged into an account")?;
        let mut record = self
            .account(mine)
            .cloned()
            .ok_or("Error reserving nickname")?;
        if let Some(owner) = self.nick_owner(nick) {
            return Err(if casemap::eq(&owner.name, &record.name) {
                "You already own that nickname"
            } else {
                "That nickname is already reserved by someone else"
            });
        }
        if record.nicks.len() >= self.config.accounts.max_nicks {
            return Err(
                "You have too many nicks reserved already (you can remove some with /NS DROP)",
            );
        }
        record.nicks.push(nick.to_owned());
        Ok(Change::Put(
            account_key(&record.name.clone()),
            Record::Account(record),
        ))
    }

    /// The change that un-groups `nick` from `id`'s account, or why not.
    pub fn ungroup_nick(&self, id: ClientId, nick: &str) -> Result<Change, &'static str> {
        let mine = self.clients[id]
            .account()
            .ok_or("You're not logged into an account")?;
        let mut record = self
            .account(mine)
            .cloned()
            .ok_or("Could not ungroup nick")?;
        if casemap::eq(nick, &record.name) {
            return Err(
                "You can't ungroup your primary nickname (try unregistering your account instead)",
            );
        }
        let before = record.nicks.len();
        record.nicks.retain(|n| !casemap::eq(n, nick));
        if record.nicks.len() == before {
            return Err("Could not ungroup nick");
        }
        Ok(Change::Put(
            account_key(&record.name.clone()),
            Record::Account(record),
        ))
    }

    /// Deletes an account, and the channels it founded.
    pub fn unregister_account(&mut self, id: ClientId, name: &str, after: After) {
        let folded = casemap::fold(name);
        let founded: Vec<String> = self
            .accounts
            .db()
            .into_iter()
            .flat_map(|db| db.channels())
            .filter(|(_, c)| c.founder == folded)
            .map(|(key, _)| key.to_owned())
            .collect();
        for chan in founded {
            self.commit(
                id,
                Change::Delete(Key::Channel(chan)),
                After::Notice(&NICKSERV, String::new()),
            );
        }
        let after = match after {
            After::Notice(svc, text) => After::Unregistered(svc, text, name.to_owned()),
            other => other,
        };
        self.commit(id, Change::Delete(Key::Account(folded)), after);
    }

    /// If `id`'s address failed too often lately, or `account` (the one it
    /// tries) did from anywhere: Ergo's "Please wait at least ... and try
    /// again".
    pub fn login_throttled(
        &mut self,
        id: ClientId,
        account: Option<&str>,
        now: Instant,
    ) -> Option<String> {
        let keys = throttle_keys(self.clients[id].ip, account);
        let mut wait = Duration::ZERO;
        for (key, limit) in keys {
            let Some(&(count, since)) = self.accounts.throttle.by_key.get(&key) else {
                continue;
            };
            let left = THROTTLE_WINDOW.saturating_sub(now.duration_since(since));
            if left.is_zero() {
                self.accounts.throttle.by_key.remove(&key);
            } else if count >= limit {
                wait = wait.max(left);
            }
        }
        (!wait.is_zero()).then(|| {
            format!(
                "Please wait at least {}s and try again",
                wait.as_secs().max(1)
            )
        })
    }

    /// Counts one REGISTER (draft/account-registration) against `id`'s
    /// address (the IPv6 /64), at most `[accounts] registrations-per-minute`
    /// in a minute (0: no limit); over it, the seconds left to wait.
    pub fn count_registration(&mut self, id: ClientId, now: Instant) -> Result<(), u64> {
        let limit = self.config.accounts.registrations_per_minute;
        if limit == 0 {
            return Ok(());
        }
        let key = throttle_key(self.clients[id].ip);
        let map = &mut self.accounts.registrations.by_key;
        if map.len() >= REGISTRATION_ADDRESSES && !map.contains_key(&key) {
            map.retain(|_, (_, since)| now.duration_since(*since) < THROTTLE_WINDOW);
        }
        let entry = map.entry(key).or_insert((0, now));
        let elapsed = now.duration_since(entry.1);
        if elapsed >= THROTTLE_WINDOW {
            *entry = (0, now);
        }
        if entry.0 >= limit {
            let left = THROTTLE_WINDOW.saturating_sub(now.duration_since(entry.1));
            return Err(left.as_secs().max(1));
        }
        entry.0 += 1;
        Ok(())
    }

    /// Counts a failed login against `id`'s address and the account tried.
    pub fn login_failed(&mut self, id: ClientId, account: Option<&str>, now: Instant) {
        for (key, _) in throttle_keys(self.clients[id].ip, account) {
            let entry = self.accounts.throttle.by_key.entry(key).or_insert((0, now));
            if now.duration_since(entry.1) >= THROTTLE_WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        // Bounded: stale windows go once the table is large.
        if self.accounts.throttle.by_key.len() > 4096 {
            self.accounts
                .throttle
                .by_key
                .retain(|_, (_, since)| now.duration_since(*since) < THROTTLE_WINDOW);
        }
    }
}

/// `Guest<digits>`: the names nick enforcement gives (`enforce_nick`),
/// never an account's, as Ergo refuses its rename prefix.
pub fn is_guest_name(nick: &str) -> bool {
    let folded = casemap::fold(nick);
    folded
        .strip_prefix("guest")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The throttle keys of a login and their limits: the address (the IPv6
/// /64), and the account when one is named.
fn throttle_keys(ip: IpAddr, account: Option<&str>) -> Vec<(String, u32)> {
    let mut keys = vec![(throttle_key(ip), THROTTLE_ATTEMPTS)];
    if let Some(a) = account {
        keys.push((
            format!("account:{}", casemap::fold(a)),
            THROTTLE_ACCOUNT_ATTEMPTS,
        ));
    }
    keys
}

/// The throttle key of an address: the IPv6 /64, or the IPv4 address.
fn throttle_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}
