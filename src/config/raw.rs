//! The shapes `tix.toml` is read into, section by section, before any
//! check: each table is read on its own ([`super::reader`]), so one bad
//! key hides nothing else.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::DeskSection;
pub(super) use super::reader::Element;
use super::reader::Reader;
use crate::domain::fields::FieldKind;
use crate::domain::filter::Filter;
use crate::domain::hooks::HookEvent;
use crate::domain::routing::{Department, RouteWhen};
use crate::domain::rules::Rule;
use crate::domain::triggers::{Macro, Trigger};
use crate::model::Priority;

/// The sections of `tix.toml`, each table read on its own (see
/// [`reader`]); tables that failed to read are left out.
#[derive(Default)]
pub(super) struct RawConfig {
    pub(super) desk: DeskSection,
    pub(super) status: Vec<Element<RawStatus>>,
    pub(super) field: Vec<Element<RawField>>,
    pub(super) department: Vec<Element<Department>>,
    pub(super) agent: Vec<Element<RawAgent>>,
    pub(super) routing: Vec<Element<RawRouting>>,
    pub(super) hook: Vec<Element<RawHook>>,
    pub(super) automation: Vec<Element<Rule>>,
    pub(super) trigger: Vec<Element<Trigger>>,
    pub(super) macros: Vec<Element<Macro>>,
    pub(super) calendar: BTreeMap<String, Spanned<RawCalendar>>,
    pub(super) sla: RawSla,
    pub(super) mail: Option<(RawMail, std::ops::Range<usize>)>,
    pub(super) mailbox: Vec<Element<RawMailbox>>,
    pub(super) view: Vec<Element<RawView>>,
    /// Tables that failed to read, by section: what they define still
    /// counts, so a reference to it is not reported a second time.
    pub(super) broken: BTreeMap<&'static str, Vec<toml::Table>>,
}

impl RawConfig {
    /// The top-level keys of `tix.toml`.
    const SECTIONS: [&'static str; 15] = [
        "desk",
        "status",
        "field",
        "department",
        "agent",
        "routing",
        "hook",
        "automation",
        "trigger",
        "macro",
        "calendar",
        "sla",
        "mail",
        "mailbox",
        "view",
    ];

    pub(super) fn read(reader: &mut Reader<'_>, root: &DeTable<'_>) -> Self {
        let mut raw = Self::default();
        for (key, value) in root {
            let Some(section) = Self::SECTIONS
                .into_iter()
                .find(|s| *s == key.get_ref().as_ref())
            else {
                reader.problem(
                    format!(
                        "unknown key `{}` at the top level; use {}",
                        key.get_ref(),
                        Self::SECTIONS.join(", ")
                    ),
                    key.span(),
                );
                continue;
            };
            let broken = match section {
                "desk" => {
                    raw.desk = reader.table(value, "[desk]").unwrap_or_default();
                    Vec::new()
                }
                "status" => read_into(&mut raw.status, reader.array(value, section, Some("id"))),
                "field" => read_into(&mut raw.field, reader.array(value, section, Some("name"))),
                "department" => read_into(
                    &mut raw.department,
                    reader.array(value, section, Some("name")),
                ),
                "agent" => read_into(&mut raw.agent, reader.array(value, section, Some("email"))),
                "routing" => {
                    read_into(&mut raw.routing, reader.array(value, section, Some("name")))
                }
                "hook" => read_into(&mut raw.hook, reader.array(value, section, None)),
                "automation" => read_into(
                    &mut raw.automation,
                    reader.array(value, section, Some("name")),
                ),
                "trigger" => {
                    read_into(&mut raw.trigger, reader.array(value, section, Some("name")))
                }
                "macro" => read_into(&mut raw.macros, reader.array(value, section, Some("name"))),
                "calendar" => {
                    raw.calendar = read_calendars(reader, value);
                    Vec::new()
                }
                "mail" => {
                    raw.mail = reader
                        .table(value, "[mail]")
                        .map(|mail| (mail, value.span()));
                    Vec::new()
                }
                "mailbox" => read_into(
                    &mut raw.mailbox,
                    reader.array(value, section, Some("address")),
                ),
                "view" => read_into(&mut raw.view, reader.array(value, section, Some("name"))),
                _ => {
                    raw.sla = read_sla(reader, value);
                    Vec::new()
                }
            };
            raw.broken.insert(section, broken);
        }
        raw
    }
}

/// The string values of `key` in the tables of `section` that failed to
/// read.
pub(super) fn broken_names(
    broken: &BTreeMap<&'static str, Vec<toml::Table>>,
    section: &str,
    key: &str,
) -> Vec<String> {
    broken
        .get(section)
        .into_iter()
        .flatten()
        .filter_map(|table| table.get(key)?.as_str().map(str::to_owned))
        .collect()
}

pub(super) fn read_into<T>(
    slot: &mut Vec<Element<T>>,
    (read, broken): (Vec<Element<T>>, Vec<toml::Table>),
) -> Vec<toml::Table> {
    *slot = read;
    broken
}

/// `[calendar.NAME]` tables, each read on its own.
pub(super) fn read_calendars(
    reader: &mut Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> BTreeMap<String, Spanned<RawCalendar>> {
    let mut calendars = BTreeMap::new();
    let Some(table) = value.get_ref().as_table() else {
        reader.problem(
            "`calendar` must be a table of calendars, written [calendar.NAME]".to_owned(),
            value.span(),
        );
        return calendars;
    };
    for (name, value) in table {
        let context = format!("[calendar.{}]", name.get_ref());
        if let Some(calendar) = reader.table::<RawCalendar>(value, &context) {
            calendars.insert(
                name.get_ref().to_string(),
                Spanned::new(value.span(), calendar),
            );
        }
    }
    calendars
}

/// `[sla]`: its own keys, then each `[[sla.policy]]` on its own.
pub(super) fn read_sla(reader: &mut Reader<'_>, value: &Spanned<DeValue<'_>>) -> RawSla {
    let Some(table) = value.get_ref().as_table() else {
        reader.problem("[sla] must be a table".to_owned(), value.span());
        return RawSla::default();
    };
    let mut rest = table.clone();
    let policies = rest.remove("policy");
    let rest = Spanned::new(value.span(), DeValue::Table(rest));
    let mut sla: RawSla = reader.table(&rest, "[sla]").unwrap_or_default();
    if let Some(policies) = policies {
        let (read, _) = reader.array::<RawPolicy>(&policies, "sla.policy", Some("name"));
        sla.policy = read
            .into_iter()
            .map(|e| Spanned::new(e.span, e.value))
            .collect();
    }
    sla
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSla {
    #[serde(default)]
    pub(super) policy: Vec<Spanned<RawPolicy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) name: String,
    #[serde(default, rename = "match")]
    pub(super) matches: RawMatch,
    #[serde(default)]
    pub(super) calendar: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) pause_resolution_in: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) warn_before: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) targets: BTreeMap<String, Spanned<RawTargets>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    #[serde(default)]
    pub(super) department: Vec<String>,
    #[serde(default)]
    pub(super) priority: Vec<Priority>,
    #[serde(default)]
    pub(super) tags_any: Vec<String>,
    #[serde(default)]
    pub(super) customer_domain: Vec<String>,
    #[serde(default)]
    pub(super) field: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargets {
    pub(super) first_reply: Option<Spanned<String>>,
    pub(super) next_reply: Option<Spanned<String>>,
    pub(super) resolution: Option<Spanned<String>>,
    pub(super) first_assign: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) timezone: Spanned<String>,
    #[serde(default)]
    pub(super) mon: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) tue: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) wed: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) thu: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) fri: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sat: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sun: Vec<Spanned<String>>,
    /// Dates (`"2025-12-25"`) or tables `{ date, hours }`, read by hand so
    /// each mistake gets its own message and line.
    #[serde(default)]
    pub(super) holidays: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) holidays_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStatus {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) label: Option<String>,
    #[serde(default)]
    pub(super) customer_label: Option<String>,
    pub(super) category: Spanned<String>,
    #[serde(default)]
    pub(super) next: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) label: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: FieldKind,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) choices: Vec<String>,
    #[serde(default)]
    pub(super) default: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    pub(super) name: String,
    pub(super) email: Spanned<String>,
    #[serde(default)]
    pub(super) departments: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHook {
    pub(super) on: Spanned<Vec<HookEvent>>,
    pub(super) run: Spanned<String>,
    #[serde(default)]
    pub(super) timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) when: Option<Spanned<RouteWhen>>,
    pub(super) set: Spanned<RawRouteSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouteSet {
    #[serde(default)]
    pub(super) department: Option<String>,
    #[serde(default)]
    pub(super) priority: Option<Priority>,
    #[serde(default)]
    pub(super) add_tags: Vec<String>,
}

/// `[mail]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    pub(super) address: Option<String>,
    pub(super) name: Option<String>,
    pub(super) transport: Option<String>,
    pub(super) sendmail: Option<String>,
    pub(super) smtp: Option<RawSmtp>,
    pub(super) closed_reply: Option<String>,
    pub(super) max_size_mb: Option<u64>,
    #[serde(default)]
    pub(super) notify: RawNotify,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) security: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password_env: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) created: Option<String>,
    pub(super) resolved: Option<String>,
    pub(super) closed: Option<String>,
}

/// `[[mailbox]]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    pub(super) address: String,
    pub(super) department: String,
}

/// `[[view]]` as written (checked in `views.rs`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawView {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) when: Filter,
}
