//! NickServ: registering an account, logging in and out, the nicks an
//! account holds, and its settings. Replies in Ergo's words
//! (irc/nickserv.go): "Account created", "You're now logged in as %s"...
//!
//! Password hashing and checking go to the worker thread (`State::
//! hash_password`, `verify_password`); a change to the datastore is
//! acknowledged only once it is durable (`State::commit`). Imports
//! `state` (accounts, services) and `store` (the records).

use std::time::Instant;

use super::{always, notice, Command, Service};
use crate::proto::casemap;
use crate::state::accounts::After;
use crate::state::jobs::Hashed;
use crate::state::{ClientId, Purpose, State};
use crate::store::{Change, Enforce, Key};

/// Registration by users is on (`[accounts] registration`).
fn registration_enabled(c: &crate::config::Config) -> bool {
    c.accounts.registration
}

pub static NICKSERV: Service = Service {
    name: "NickServ",
    short: "NS",
    aliases: &["NICKSERV", "NS"],
    banner: "NickServ lets you register, log in to, and manage an account.",
    commands: &[
        Command {
            name: "DROP",
            alias_of: None,
            handler: drop,
            help: "Syntax: \x02DROP [nickname]\x02\n\nDROP de-links the given (or your current) nickname from your user account.",
            help_short: "\x02DROP\x02 de-links your current (or the given) nickname from your user account.",
            min_params: 0,
            max_params: 1,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "ENFORCE",
            alias_of: None,
            handler: enforce,
            help: "Syntax: \x02ENFORCE [method]\x02\n\nENFORCE is an alias for \x02GET enforce\x02 and \x02SET enforce\x02. See the help\nentry for \x02SET\x02 for more information.",
            help_short: "",
            min_params: 0,
            max_params: 1,
            auth_required: true,
            capab: None,
            hidden: true,
            enabled: always,
        },
        Command {
            name: "GET",
            alias_of: None,
            handler: get,
            help: "Syntax: \x02GET <setting>\x02\n\nGET queries the current values of your account settings. For more information\non the settings and their possible values, see HELP SET.",
            help_short: "\x02GET\x02 queries the current values of your account settings",
            min_params: 1,
            max_params: 1,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "GHOST",
            alias_of: None,
            handler: ghost,
            help: "Syntax: \x02GHOST <nickname>\x02\n\nGHOST disconnects the given user from the network if they're logged in with the\nsame user account, letting you reclaim your nickname.",
            help_short: "\x02GHOST\x02 reclaims your nickname.",
            min_params: 1,
            max_params: 1,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "GROUP",
            alias_of: None,
            handler: group,
            help: "Syntax: \x02GROUP\x02\n\nGROUP links your current nickname with your logged-in account, so other people\nwill not be able to use it.",
            help_short: "\x02GROUP\x02 links your current nickname to your user account.",
            min_params: 0,
            max_params: 0,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "IDENTIFY",
            alias_of: None,
            handler: identify,
            help: "Syntax: \x02IDENTIFY <username> [password]\x02\n\nIDENTIFY lets you login to the given username using either password auth, or\ncertfp (your client certificate) if a password is not given.",
            help_short: "\x02IDENTIFY\x02 lets you login to your account.",
            min_params: 1,
            max_params: 2,
            auth_required: false,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "INFO",
            alias_of: None,
            handler: info,
            help: "Syntax: \x02INFO [username]\x02\n\nINFO gives you information about the given (or your own) user account.",
            help_short: "\x02INFO\x02 gives you information on a user account.",
            min_params: 0,
            max_params: 1,
            auth_required: false,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "LOGOUT",
            alias_of: None,
            handler: logout,
            help: "Syntax: \x02LOGOUT\x02\n\nLOGOUT logs you out of your account; your nickname stays as it is.",
            help_short: "\x02LOGOUT\x02 logs you out of your account.",
            min_params: 0,
            max_params: 0,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "PASSWD",
            alias_of: None,
            handler: passwd,
            help: "Syntax: \x02PASSWD <current> <new> <new_again>\x02\nOr:     \x02PASSWD <username> <new>\x02\n\nPASSWD lets you change your account password. You must supply your current\npassword and confirm the new one by typing it twice. If you're an IRC operator\nwith the correct permissions, you can use PASSWD to reset someone else's\npassword by supplying their username and then the desired password.",
            help_short: "\x02PASSWD\x02 lets you change your password.",
            min_params: 2,
            max_params: 3,
            auth_required: false,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "PASSWORD",
            alias_of: Some("PASSWD"),
            handler: passwd,
            help: "",
            help_short: "",
            min_params: 2,
            max_params: 3,
            auth_required: false,
            capab: None,
            hidden: true,
            enabled: always,
        },
        Command {
            name: "REGISTER",
            alias_of: None,
            handler: register,
            help: "Syntax: \x02REGISTER <password> [email]\x02\n\nREGISTER lets you register your current nickname as a user account. If the\nserver allows anonymous registration, you can omit the e-mail address.\n\nIf you are currently logged in with a TLS client certificate and wish to use\nit instead of a password to log in, send * as the password.",
            help_short: "\x02REGISTER\x02 lets you register a user account.",
            min_params: 1,
            max_params: 2,
            auth_required: false,
            capab: None,
            hidden: false,
            enabled: registration_enabled,
        },
        Command {
            name: "SET",
            alias_of: None,
            handler: set,
            help: "Syntax \x02SET <setting> <value>\x02\n\nSET modifies your account settings. The following settings are available:\n\n\x02ENFORCE\x02\n'enforce' lets you specify a custom enforcement mechanism for your registered\nnicknames. Your options are:\n1. 'none'    [no enforcement, overriding the server default]\n2. 'strict'  [you must already be authenticated to use the nick]\n3. 'default' [use the server default]\n\n\x02EMAIL\x02\n'email' controls the e-mail address associated with your account.",
            help_short: "\x02SET\x02 modifies your account settings",
            min_params: 2,
            max_params: 2,
            auth_required: true,
            capab: None,
            hidden: false,
            enabled: always,
        },
        Command {
            name: "UNREGISTER",
            alias_of: None,
            handler: unregister,
            help: "Syntax: \x02UNREGISTER <username> [code]\x02\n\nUNREGISTER lets you delete your user account (or someone else's, if you're an\nIRC operator with the correct permissions). To prevent accidental\nunregistrations, a verification code is required; invoking the command without\na code will display the necessary code.",
            help_short: "\x02UNREGISTER\x02 lets you delete your user account.",
            min_params: 1,
            max_params: 2,
            auth_required: false,
            capab: None,
            hidden: false,
            enabled: always,
        },
    ],
};

/// `REGISTER <password> [email]`: the current nick becomes an account.
fn register(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], now: Instant) {
    let c = &s.clients[id];
    if c.account().is_some() {
        return notice(s, id, svc, "You're already logged into an account");
    }
    let nick = c.nick().to_owned();
    let certfp = c.certfp().map(str::to_owned);
    let mut password = params[0].to_owned();
    if password == "*" {
        if certfp.is_none() {
            return notice(
                s,
                id,
                svc,
                "You must be connected with TLS and a client certificate to do this",
            );
        }
        password.clear();
    } else if casemap::eq(&password, &nick) {
        // Ergo #1179: `REGISTER <nick>` is a client mixing up the syntax.
        return notice(s, id, svc, "Usage: REGISTER <passphrase> [email]");
    }
    if let Some(err) = s.registration_refused(id, &nick, &password) {
        return notice(s, id, svc, err);
    }
    let email = params.get(1).map(|e| (*e).to_owned());
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        return notice(s, id, svc, "Registration requires a valid e-mail address");
    }
    // The same flood limit as draft/account-registration's REGISTER.
    if s.count_registration(id, now).is_err() {
        return notice(
            s,
            id,
            svc,
            "There have been too many registration attempts recently; try again later",
        );
    }
    s.hash_password(
        id,
        password,
        Hashed::Register {
            account: nick,
            email,
            certfp,
            via_service: true,
        },
    );
}

/// An address that looks like one (`local@domain`, printable, bounded):
/// picoircd sends no mail, so it is only stored and shown to its owner.
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e.contains([',', '<', '>'])
        && e.chars().all(|c| c.is_ascii_graphic() || !c.is_ascii())
}

/// `IDENTIFY <account> [password]`, or `IDENTIFY <password>` for the
/// account of the current nick; with a client certificate, `IDENTIFY
/// <account>` alone.
fn identify(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], now: Instant) {
    let c = &s.clients[id];
    if c.account().is_some() {
        return notice(s, id, svc, "You're already logged into an account");
    }
    let certfp = c.certfp().map(str::to_owned);
    let (name, password) = match (params, &certfp) {
        ([name], Some(_)) => ((*name).to_owned(), None),
        ([password], None) => (c.nick().to_owned(), Some((*password).to_owned())),
        ([name, password, ..], _) => ((*name).to_owned(), Some((*password).to_owned())),
        _ => return,
    };
    if let Some(wait) = s.login_throttled(id, Some(&name), now) {
        return notice(s, id, svc, &wait);
    }
    let Some(account) = s.account(&name) else {
        return notice(
            s,
            id,
            svc,
            "Authentication failed: Invalid account credentials",
        );
    };
    let account_name = account.name.clone();
    let by_cert = certfp
        .as_deref()
        .is_some_and(|fp| account.certfps.iter().any(|f| f == fp));
    match (password, account.password.clone()) {
        (Some(password), Some(hash)) => {
            s.verify_password(id, hash, password, Purpose::Identify(account_name));
        }
        _ if by_cert => s.log_in(id, &account_name, crate::state::accounts::Via::NickServ),
        _ => {
            s.login_failed(id, Some(&account_name), now);
            notice(
                s,
                id,
                svc,
                "Authentication failed: Invalid account credentials",
            );
        }
    }
}

/// `LOGOUT`.
fn logout(s: &mut State, id: ClientId, svc: &'static Service, _: &[&str], _now: Instant) {
    s.log_out(id);
    notice(s, id, svc, "You're now logged out");
}

/// `GHOST <nick>`: disconnects a client using a nick of one's account.
fn ghost(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(target) = s.find_nick(params[0]).filter(|&t| s.clients[t].registered) else {
        return notice(s, id, svc, "No such nick");
    };
    if target == id {
        return notice(s, id, svc, "You can't GHOST yourself (try /QUIT instead)");
    }
    let mine = s.clients[id].account().map(casemap::fold);
    let owner = s.nick_owner(params[0]).map(|a| casemap::fold(&a.name));
    let theirs = s.clients[target].account().map(casemap::fold);
    let authorized = mine.is_some() && (owner == mine || theirs == mine);
    if !authorized {
        return notice(s, id, svc, "You don't own that nick");
    }
    let reason = format!("GHOSTed by {}", s.clients[id].nick());
    s.quit(target, &reason);
}

/// `GROUP`: the current nick is reserved for the account.
fn group(s: &mut State, id: ClientId, svc: &'static Service, _: &[&str], _now: Instant) {
    let nick = s.clients[id].nick().to_owned();
    match s.group_nick(id, &nick) {
        Ok(change) => {
            let text = format!("Successfully grouped nick {nick} with your account");
            s.commit(id, change, After::Notice(svc, text));
        }
        Err(text) => notice(s, id, svc, text),
    }
}

/// `DROP [nick]`: un-reserves a grouped nick.
fn drop(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let nick = params
        .first()
        .map_or_else(|| s.clients[id].nick().to_owned(), |n| (*n).to_owned());
    match s.ungroup_nick(id, &nick) {
        Ok(change) => {
            let text = format!("Successfully ungrouped nick {nick} with your account");
            s.commit(id, change, After::Notice(svc, text));
        }
        Err(text) => notice(s, id, svc, text),
    }
}

/// `INFO [nick]`.
fn info(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let account = match params.first() {
        Some(nick) => match s.nick_owner(nick) {
            Some(a) => a.clone(),
            None => return notice(s, id, svc, "That nickname is not registered"),
        },
        None => match s.clients[id].account().and_then(|a| s.account(a)) {
            Some(a) => a.clone(),
            None => return notice(s, id, svc, "You're not logged into an account"),
        },
    };
    let c = &s.clients[id];
    let own = c.account().is_some_and(|a| casemap::eq(a, &account.name));
    let privileged = own || c.has_oper_cap("accreg");
    let mut lines = vec![
        format!("Account: {}", account.name),
        format!(
            "Registered at: {}",
            crate::time::rfc1123(account.registered)
        ),
    ];
    if privileged {
        if let Some(email) = &account.email {
            lines.push(format!("Email address: {email}"));
        }
    }
    for nick in account.nicks.iter().skip(1) {
        lines.push(format!("Additional grouped nick: {nick}"));
    }
    let channels = s.channels_founded_by(&account.name);
    lines.push(format!(
        "Account {} has {} registered channel(s).",
        account.name,
        channels.len()
    ));
    for chan in channels {
        lines.push(format!("Registered channel: {chan}"));
    }
    for line in lines {
        notice(s, id, svc, &line);
    }
}

/// `PASSWD <current> <new> <new again>`, or an oper's `PASSWD <account>
/// <new>`.
fn passwd(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], now: Instant) {
    match params {
        [account, new] => {
            if !s.clients[id].has_oper_cap("accreg") {
                return notice(s, id, svc, "Insufficient privileges");
            }
            let Some(target) = s.account(account).map(|a| a.name.clone()) else {
                return notice(s, id, svc, "Account does not exist");
            };
            s.hash_password(
                id,
                (*new).to_owned(),
                Hashed::Passwd {
                    account: target,
                    current: None,
                },
            );
        }
        [current, new, again] => {
            let Some(account) = s.clients[id].account().map(str::to_owned) else {
                return notice(s, id, svc, "You're not logged into an account");
            };
            if new != again {
                return notice(s, id, svc, "Passwords do not match");
            }
            if let Some(wait) = s.login_throttled(id, Some(&account), now) {
                return notice(s, id, svc, &wait);
            }
            let Some(hash) = s.account(&account).and_then(|a| a.password.clone()) else {
                return notice(s, id, svc, "Password incorrect");
            };
            s.hash_password(
                id,
                (*new).to_owned(),
                Hashed::Passwd {
                    account,
                    current: Some(((*current).to_owned(), hash)),
                },
            );
        }
        _ => notice(s, id, svc, "Invalid parameters"),
    }
}

/// `SET <setting> <value>`: ENFORCE or EMAIL.
fn set(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(mut account) = s.clients[id].account().and_then(|a| s.account(a)).cloned() else {
        return notice(s, id, svc, "You're not logged into an account");
    };
    let key = params[0].to_ascii_lowercase();
    match key.as_str() {
        "pass" | "password" => return notice(
            s,
            id,
            svc,
            "To change a password, use the PASSWD command. For details, /msg NickServ HELP PASSWD",
        ),
        "enforce" => match Enforce::parse(params[1]) {
            Some(e) => account.settings.enforce = e,
            None => return notice(s, id, svc, "Invalid parameters"),
        },
        "email" if valid_email(params[1]) => account.email = Some(params[1].to_owned()),
        _ => return notice(s, id, svc, "Invalid parameters"),
    }
    let change = Change::Put(
        Key::Account(casemap::fold(&account.name)),
        crate::store::Record::Account(account),
    );
    s.commit(id, change, After::Setting(svc, key));
}

/// `GET <setting>`.
fn get(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    show_setting(s, id, svc, &params[0].to_ascii_lowercase());
}

/// `ENFORCE [method]`: GET or SET enforce.
fn enforce(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], now: Instant) {
    match params.first() {
        None => show_setting(s, id, svc, "enforce"),
        Some(v) => set(s, id, svc, &["enforce", v], now),
    }
}

/// The notices of `GET <setting>` (also after a successful SET).
pub fn show_setting(s: &mut State, id: ClientId, svc: &Service, key: &str) {
    let Some(account) = s.clients[id].account().and_then(|a| s.account(a)).cloned() else {
        return notice(s, id, svc, "You're not logged into an account");
    };
    match key {
        "enforce" => {
            let stored = account.settings.enforce;
            let actual = s.effective_enforce(stored);
            notice(
                s,
                id,
                svc,
                &format!(
                    "Your stored nickname enforcement setting is: {}",
                    stored.name()
                ),
            );
            notice(
                s,
                id,
                svc,
                &format!(
                    "Given current server settings, your nickname is enforced with: {}",
                    actual.name()
                ),
            );
        }
        "email" => match &account.email {
            Some(e) => notice(s, id, svc, &format!("Your stored e-mail address is: {e}")),
            None => notice(s, id, svc, "You have no stored e-mail address"),
        },
        _ => notice(s, id, svc, "No such setting"),
    }
}

/// `UNREGISTER <account> [code]`: deletes an account, after a confirmation
/// code that only its owner (or an oper with `accreg`) is shown.
fn unregister(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(account) = s.account(params[0]).cloned() else {
        return notice(s, id, svc, "Invalid account name");
    };
    let c = &s.clients[id];
    let own = c.account().is_some_and(|a| casemap::eq(a, &account.name));
    if !own && !c.has_oper_cap("accreg") {
        return notice(s, id, svc, "Insufficient oper privs");
    }
    let expected = crate::state::accounts::confirmation_code(&account.name, account.registered);
    if params.get(1) != Some(&expected.as_str()) {
        for line in [
            "\x02Warning: unregistering this account will remove its stored privileges.\x02",
            "\x02Unregistering your account will unregister all channels you founded.\x02",
            "\x02To prevent this, transfer your channels first with CS TRANSFER.\x02",
        ] {
            notice(s, id, svc, line);
        }
        let text = format!(
            "To confirm, run this command: /NS UNREGISTER {} {expected}",
            account.name
        );
        return notice(s, id, svc, &text);
    }
    let text = format!("Successfully unregistered account {}", account.name);
    s.unregister_account(id, &account.name, After::Notice(svc, text));
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn emails_that_look_like_emails() {
        for ok in ["a@example.org", "first.last+tag@mail.example.co.uk"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@example.org",
            "a@b",
            "a@.org",
            "a@org.",
            "a b@c.org",
            "a@b@c.org",
            "<a@b.org>",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
