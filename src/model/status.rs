//! Statuses and their categories: the status a ticket's log sets, and the
//! fixed meaning (category) each status has for the engine
//! (docs/lifecycle.md). The rules of moving between them are in
//! `crate::domain::lifecycle`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The fixed engine meaning behind every status, built-in or custom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Created; no agent has replied yet.
    New,
    /// Needs an agent.
    Open,
    /// The ball is with the customer.
    Waiting,
    /// Someone will come back later.
    OnHold,
    /// A solution was given; the customer may still reply.
    Solved,
    /// Final: locked against replies and edits.
    Closed,
}

impl Category {
    /// Every category, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::New,
        Self::Open,
        Self::Waiting,
        Self::OnHold,
        Self::Solved,
        Self::Closed,
    ];

    /// Returns the category's name as written in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Waiting => "waiting",
            Self::OnHold => "on_hold",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }

    /// Parses a category name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Returns the built-in status that stands for this category.
    pub fn default_status(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Waiting => "answered",
            Self::OnHold => "postponed",
            Self::Solved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Tells whether the ticket still needs work (new, open, waiting, on hold).
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Solved | Self::Closed)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status a desk knows: built-in or from `tix.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusDef {
    /// The id written in ticket files (`answered`, `waiting_on_vendor`).
    pub id: String,
    /// What agents see.
    pub label: String,
    /// The engine meaning.
    pub category: Category,
    /// Statuses it may move to with `tix status`; `None` means any.
    pub next: Option<Vec<String>>,
}

/// The statuses of a desk: the six built-in ones plus the configured ones.
#[derive(Clone, Debug)]
pub struct Statuses {
    by_id: BTreeMap<String, StatusDef>,
}

impl Default for Statuses {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Statuses {
    /// Returns the six built-in statuses (docs/lifecycle.md).
    pub fn builtin() -> Self {
        let labels = [
            (Category::New, "New"),
            (Category::Open, "Open"),
            (Category::Waiting, "Answered"),
            (Category::OnHold, "Postponed"),
            (Category::Solved, "Resolved"),
            (Category::Closed, "Closed"),
        ];
        let by_id = labels
            .into_iter()
            .map(|(category, label)| {
                let id = category.default_status().to_owned();
                (
                    id.clone(),
                    StatusDef {
                        id,
                        label: label.to_owned(),
                        category,
                        next: None,
                    },
                )
            })
            .collect();
        Self { by_id }
    }

    /// Adds (or, for a built-in id, refines) a status.
    pub fn insert(&mut self, def: StatusDef) {
        self.by_id.insert(def.id.clone(), def);
    }

    /// Looks a status up by id.
    pub fn get(&self, id: &str) -> Option<&StatusDef> {
        self.by_id.get(id)
    }

    /// Returns the category of a status id, if the desk knows it.
    pub fn category(&self, id: &str) -> Option<Category> {
        self.get(id).map(|def| def.category)
    }

    /// Iterates over every status in id order.
    pub fn iter(&self) -> impl Iterator<Item = &StatusDef> {
        self.by_id.values()
    }
}

/// Tells whether a status change counts as a reopen (docs/lifecycle.md,
/// "Reopens"): from a
/// solved or closed category back into an active one.
pub fn is_reopen(from: Category, to: Category) -> bool {
    !from.is_active() && to.is_active()
}
