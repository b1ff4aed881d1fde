//! Documentation that must match the code.

use tix::domain::lifecycle::{Category, Move, Outcome, outcome};

fn cell(mv: Move, category: Category) -> String {
    match outcome(mv, category) {
        None => "—".to_owned(),
        Some(Outcome::Stay) => "=".to_owned(),
        Some(Outcome::To(to)) => to.default_status().to_owned(),
    }
}

/// docs/lifecycle.md's transition table is the table of src/lifecycle.rs.
#[test]
fn lifecycle_doc_matches_the_transition_table() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md")).unwrap();
    let rows: Vec<Vec<String>> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| command |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    let mut moves: Vec<Move> = Move::USER_MOVES.to_vec();
    moves.push(Move::Wake { replied: true });
    assert_eq!(rows.len(), moves.len(), "one row per command");
    for (row, mv) in rows.iter().zip(&moves) {
        assert_eq!(row[0], mv.command());
        for (i, category) in Category::ALL.into_iter().enumerate() {
            let expected = match mv {
                Move::Wake { .. } if category == Category::OnHold => "open or new".to_owned(),
                _ => cell(*mv, category),
            };
            assert_eq!(row[i + 1], expected, "{} from {category}", mv.command());
        }
    }
    assert_eq!(cell(Move::Wake { replied: false }, Category::OnHold), "new");
}
