//! Ticket ids: six random lowercase Crockford base32 characters.
//!
//! Random (never time-prefixed) so that two offline clones do not mint the
//! same id and so that new tickets spread evenly over the two-character
//! shards of `tickets/<ab>/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The Crockford base32 alphabet in lowercase (no i, l, o, u).
pub const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Number of characters in a newly minted id.
pub const ID_LEN: usize = 6;

/// A ticket id such as `k3x9p2`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketId(String);

/// Text that is not a ticket id (or id prefix).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a ticket id: ids use the letters 0-9 and a-z without i, l, o and u")]
pub struct InvalidId(pub String);

impl TicketId {
    /// Returns the id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the two-character shard the ticket file lives in.
    pub fn shard(&self) -> &str {
        &self.0[..2]
    }

    /// Mints a random id from the given generator.
    pub fn random(rng: &mut fastrand::Rng) -> Self {
        let id = (0..ID_LEN)
            .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
            .collect();
        Self(id)
    }
}

/// Checks the characters of an id or id prefix and normalises it: a leading
/// `#` is dropped and upper case is folded to lower case.
pub fn normalise_prefix(text: &str) -> Result<String, InvalidId> {
    let trimmed = text.trim().trim_start_matches('#').to_ascii_lowercase();
    let valid = !trimmed.is_empty() && trimmed.len() <= 32 && trimmed.bytes().all(is_id_byte);
    if valid {
        Ok(trimmed)
    } else {
        Err(InvalidId(text.to_owned()))
    }
}

/// Tells whether `byte` is in [`ALPHABET`] (without a search of it: every
/// id a listing reads is checked).
const fn is_id_byte(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'a'..=b'h' | b'j' | b'k' | b'm' | b'n' | b'p'..=b't' | b'v'..=b'z')
}

impl FromStr for TicketId {
    type Err = InvalidId;

    /// Parses a complete id (at least two characters, so it has a shard).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Most ids read are whole and in their own form already (every row
        // of a listing): no trimming or case folding to do.
        if (2..=32).contains(&text.len()) && text.bytes().all(is_id_byte) {
            return Ok(Self(text.to_owned()));
        }
        let id = normalise_prefix(text)?;
        if id.len() < 2 {
            return Err(InvalidId(text.to_owned()));
        }
        Ok(Self(id))
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TicketId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TicketId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_use_the_alphabet_and_length() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1000 {
            let id = TicketId::random(&mut rng);
            assert_eq!(id.as_str().len(), ID_LEN);
            assert!(id.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn the_byte_check_is_the_alphabet() {
        for byte in 0..=u8::MAX {
            assert_eq!(is_id_byte(byte), ALPHABET.contains(&byte), "{byte}");
        }
    }

    #[test]
    fn prefixes_accept_hash_and_upper_case() {
        assert_eq!(normalise_prefix("#K3X").unwrap(), "k3x");
        assert_eq!("#k3x9p2".parse::<TicketId>().unwrap().shard(), "k3");
    }

    #[test]
    fn path_like_text_is_refused() {
        for bad in ["../x", "a/b", "", "#", "k3x9pu", "ab cd", "k"] {
            assert!(bad.parse::<TicketId>().is_err(), "{bad}");
        }
        assert!(normalise_prefix("k").is_ok());
    }
}
