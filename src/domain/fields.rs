//! The ticket form: custom fields, their types and how values given as
//! text become typed values (docs/configuration.md, "Custom fields").
//!
//! Pure: `tix.toml`'s `[[field]]` tables are read by `crate::config`.

use serde::Deserialize;

/// The type of a custom field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Any text.
    String,
    /// An integer or decimal number.
    Number,
    /// true or false.
    Bool,
    /// A calendar date, YYYY-MM-DD.
    Date,
    /// One of `choices`.
    Choice,
}

/// One field of the ticket form.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// Key used in `--field KEY=VALUE` and in ticket files.
    pub name: String,
    /// What agents see.
    pub label: Option<String>,
    /// Its type.
    pub kind: FieldKind,
    /// Whether `tix new` needs it.
    pub required: bool,
    /// Allowed values (choice fields).
    pub choices: Vec<String>,
    /// Value used when none is given.
    pub default: Option<toml::Value>,
}

/// Looks up the field a `KEY=VALUE` names in the ticket form, or says
/// which fields the form has.
pub fn form_field<'f>(form: &'f [FieldDef], name: &str) -> Result<&'f FieldDef, String> {
    form.iter().find(|f| f.name == name).ok_or_else(|| {
        let known: Vec<&str> = form.iter().map(|f| f.name.as_str()).collect();
        if known.is_empty() {
            format!(
                "unknown field '{name}': the ticket form has no fields; define [[field]] in tix.toml"
            )
        } else {
            format!(
                "unknown field '{name}': the ticket form has {}",
                known.join(", ")
            )
        }
    })
}

impl FieldDef {
    /// Converts text from the command line into a typed value, or says
    /// what is allowed.
    pub fn parse_value(&self, text: &str) -> Result<toml::Value, String> {
        let text = text.trim();
        let bad = |what: &str| format!("field '{}' must be {what}, not '{text}'", self.name);
        match self.kind {
            FieldKind::String => Ok(toml::Value::String(text.to_owned())),
            FieldKind::Number => {
                let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    // A whole number is kept exactly, or refused: as a float
                    // 99999999999999999999999 would quietly become 1e23.
                    return text.parse::<i64>().map(toml::Value::Integer).map_err(|_| {
                        bad(&format!("a whole number from {} to {}", i64::MIN, i64::MAX))
                    });
                }
                text.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(toml::Value::Float)
                    .ok_or_else(|| bad("a number"))
            }
            FieldKind::Bool => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" => Ok(toml::Value::Boolean(true)),
                "false" | "no" => Ok(toml::Value::Boolean(false)),
                _ => Err(bad("true or false (or yes, no; any case)")),
            },
            FieldKind::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|_| text.parse::<toml::value::Datetime>().ok())
                .map(toml::Value::Datetime)
                .ok_or_else(|| bad("a date (YYYY-MM-DD)")),
            FieldKind::Choice => {
                if self.choices.iter().any(|c| c == text) {
                    Ok(toml::Value::String(text.to_owned()))
                } else {
                    Err(format!(
                        "field '{}' must be one of {}, not '{text}'",
                        self.name,
                        self.choices.join(", ")
                    ))
                }
            }
        }
    }

    /// Tells whether two values of this field are the same: numbers by
    /// value (`4.5` and `4.50`, `4` and `4.0`), everything else exactly.
    pub fn same_value(&self, a: &toml::Value, b: &toml::Value) -> bool {
        let number = |v: &toml::Value| match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        match (self.kind, number(a), number(b)) {
            (FieldKind::Number, Some(a), Some(b)) => a == b,
            _ => a == b,
        }
    }

    /// Checks a value already in a ticket file or the config.
    pub fn check_value(&self, value: &toml::Value) -> Result<(), String> {
        let ok = match (self.kind, value) {
            (FieldKind::String, toml::Value::String(_)) => true,
            (FieldKind::Number, toml::Value::Integer(_) | toml::Value::Float(_)) => true,
            (FieldKind::Bool, toml::Value::Boolean(_)) => true,
            (FieldKind::Date, toml::Value::Datetime(d)) => d.date.is_some() && d.time.is_none(),
            (FieldKind::Choice, toml::Value::String(s)) => self.choices.contains(s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "field '{}' has a value that is not a valid {}: {value}",
                self.name,
                self.kind_name()
            ))
        }
    }

    fn kind_name(&self) -> String {
        match self.kind {
            FieldKind::String => "string".into(),
            FieldKind::Number => "number".into(),
            FieldKind::Bool => "bool".into(),
            FieldKind::Date => "date".into(),
            FieldKind::Choice => format!("choice ({})", self.choices.join(", ")),
        }
    }
}
