//! Command errors and the one place they become numerics.
//!
//! Handlers return `Err(CmdError::…)` with `?`; `reply_error` writes the
//! numeric with Ergo's wording, so every command reports the same failure
//! the same way. Imports `proto::numeric` only.

use crate::proto::numeric::*;

/// A command that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// 461: too few parameters for the command.
    NeedMoreParams(&'static str),
    /// 401: no such nick or channel.
    NoSuchNick(String),
    /// 403: no such channel.
    NoSuchChannel(String),
    /// 442: you're not on that channel.
    NotOnChannel(String),
    /// 441: they aren't on that channel (nick, channel).
    UserNotInChannel(String, String),
    /// 482: you're not a channel operator.
    ChanOpPrivsNeeded(String),
    /// 481: not an IRC operator (or the class lacks the capability).
    NoPrivileges,
    /// 451: not registered yet.
    NotRegistered,
    /// 462: already registered.
    AlreadyRegistered,
    /// 421: unknown command.
    UnknownCommand(String),
    /// Any other numeric: number, middle parameters, text.
    Numeric(u16, Vec<String>, String),
    /// FAIL <command> <code> [context…] :text (standard replies).
    Fail(&'static str, &'static str, Vec<String>, String),
}

/// The numeric, its middle parameters and text for an error.
pub fn describe(err: &CmdError) -> Described {
    use CmdError::*;
    match err {
        NeedMoreParams(cmd) => num(
            ERR_NEEDMOREPARAMS,
            vec![cmd.to_string()],
            "Not enough parameters",
        ),
        NoSuchNick(n) => num(ERR_NOSUCHNICK, vec![n.clone()], "No such nick"),
        NoSuchChannel(c) => num(ERR_NOSUCHCHANNEL, vec![c.clone()], "No such channel"),
        NotOnChannel(c) => num(
            ERR_NOTONCHANNEL,
            vec![c.clone()],
            "You're not on that channel",
        ),
        UserNotInChannel(n, c) => num(
            ERR_USERNOTINCHANNEL,
            vec![n.clone(), c.clone()],
            "They aren't on that channel",
        ),
        ChanOpPrivsNeeded(c) => num(
            ERR_CHANOPRIVSNEEDED,
            vec![c.clone()],
            "You're not a channel operator",
        ),
        NoPrivileges => num(
            ERR_NOPRIVILEGES,
            vec![],
            "Permission Denied - You're not an IRC operator",
        ),
        NotRegistered => num(
            ERR_NOTREGISTERED,
            vec![],
            "You need to register before you can use that command",
        ),
        AlreadyRegistered => num(ERR_ALREADYREGISTERED, vec![], "You may not reregister"),
        UnknownCommand(c) => num(ERR_UNKNOWNCOMMAND, vec![c.clone()], "Unknown command"),
        Numeric(n, params, text) => num(*n, params.clone(), text),
        Fail(cmd, code, ctx, text) => Described::Fail {
            command: cmd,
            code,
            context: ctx.clone(),
            text: text.clone(),
        },
    }
}

/// What an error is written as.
pub enum Described {
    Numeric {
        num: u16,
        params: Vec<String>,
        text: String,
    },
    Fail {
        command: &'static str,
        code: &'static str,
        context: Vec<String>,
        text: String,
    },
}

fn num(num: u16, params: Vec<String>, text: &str) -> Described {
    Described::Numeric {
        num,
        params,
        text: text.to_string(),
    }
}

/// What handlers return.
pub type CmdResult = Result<(), CmdError>;
