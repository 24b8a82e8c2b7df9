//! A client's names in one allocation: `nick!user@host` followed by the
//! real name. The first part is the message source (`prefix`) as it goes
//! on the wire, so it is never formatted per message; keeping the four
//! strings together costs one heap chunk per client instead of four.
//!
//! Plain data; imports nothing from the crate.

/// `nick`, `user`, `host` and `realname`, stored as
/// `nick!user@host` + `realname` in one boxed string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    buf: Box<str>,
    nick: u16,
    user: u16,
    host: u16,
}

impl Identity {
    pub fn new(nick: &str, user: &str, host: &str, realname: &str) -> Identity {
        let (nick, user, host) = (fit(nick), fit(user), fit(host));
        let mut s =
            String::with_capacity(nick.len() + user.len() + host.len() + 2 + realname.len());
        for (part, sep) in [(nick, "!"), (user, "@"), (host, ""), (realname, "")] {
            s.push_str(part);
            s.push_str(sep);
        }
        Identity {
            buf: s.into_boxed_str(),
            nick: nick.len() as u16,
            user: user.len() as u16,
            host: host.len() as u16,
        }
    }

    pub fn nick(&self) -> &str {
        &self.buf[..self.nick as usize]
    }

    pub fn user(&self) -> &str {
        let start = self.nick as usize + 1;
        &self.buf[start..start + self.user as usize]
    }

    pub fn host(&self) -> &str {
        let start = self.nick as usize + self.user as usize + 2;
        &self.buf[start..start + self.host as usize]
    }

    pub fn realname(&self) -> &str {
        &self.buf[self.prefix_len()..]
    }

    /// `nick!user@host`.
    pub fn prefix(&self) -> &str {
        &self.buf[..self.prefix_len()]
    }

    pub fn set_nick(&mut self, nick: &str) {
        *self = Identity::new(nick, self.user(), self.host(), self.realname());
    }

    pub fn set_user(&mut self, user: &str) {
        *self = Identity::new(self.nick(), user, self.host(), self.realname());
    }

    pub fn set_host(&mut self, host: &str) {
        *self = Identity::new(self.nick(), self.user(), host, self.realname());
    }

    pub fn set_realname(&mut self, realname: &str) {
        *self = Identity::new(self.nick(), self.user(), self.host(), realname);
    }

    fn prefix_len(&self) -> usize {
        self.nick as usize + self.user as usize + self.host as usize + 2
    }
}

/// Names are bounded far below 64 KiB by `limits` and the config; a
/// longer one is cut at a character boundary, so its length fits a u16.
fn fit(s: &str) -> &str {
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_prefix_come_back_as_given() {
        let id = Identity::new("alice", "~al", "x1.cloak", "Alice Liddell");
        assert_eq!(id.nick(), "alice");
        assert_eq!(id.user(), "~al");
        assert_eq!(id.host(), "x1.cloak");
        assert_eq!(id.realname(), "Alice Liddell");
        assert_eq!(id.prefix(), "alice!~al@x1.cloak");
    }

    #[test]
    fn each_setter_changes_only_its_part() {
        let mut id = Identity::new("*", "", "h", "");
        id.set_nick("bob");
        id.set_user("~b");
        id.set_realname("Bob B");
        assert_eq!(id.prefix(), "bob!~b@h");
        id.set_host("vhost.example");
        id.set_nick("robert");
        assert_eq!(id.prefix(), "robert!~b@vhost.example");
        assert_eq!(id.realname(), "Bob B");
        id.set_realname("");
        assert_eq!(id.realname(), "");
        assert_eq!(id.host(), "vhost.example");
    }

    #[test]
    fn multibyte_names_slice_on_their_boundaries() {
        let id = Identity::new("ñick", "~ü", "hôst", "Réal Nàme");
        assert_eq!(id.nick(), "ñick");
        assert_eq!(id.user(), "~ü");
        assert_eq!(id.host(), "hôst");
        assert_eq!(id.realname(), "Réal Nàme");
    }

    #[test]
    fn an_oversized_part_is_cut_not_wrapped() {
        let long = "é".repeat(40_000);
        let id = Identity::new("n", "u", &long, "r");
        assert!(id.host().len() <= u16::MAX as usize);
        assert!(id.host().chars().all(|c| c == 'é'));
        assert_eq!(id.realname(), "r");
    }
}
