//! `tix report` for people: a text page that fits 80 columns, and a
//! self-contained HTML page with charts (no network: inline SVG and CSS).

use std::fmt::Write as _;

use crate::cli::ui::{Painter, Style};
use crate::domain::report::{Achievement, Charts, Metrics, Minutes, Report, Stat};

/// A duration in whole minutes for people: `45m`, `2h 5m`, `3d 4h`.
pub(crate) fn duration(minutes: Option<i64>) -> String {
    let Some(m) = minutes else {
        return "-".to_owned();
    };
    match m {
        m if m >= 24 * 60 => {
            let (d, h) = (m / (24 * 60), (m % (24 * 60)) / 60);
            if h == 0 {
                format!("{d}d")
            } else {
                format!("{d}d {h}h")
            }
        }
        m if m >= 60 => {
            let (h, rest) = (m / 60, m % 60);
            if rest == 0 {
                format!("{h}h")
            } else {
                format!("{h}h {rest}m")
            }
        }
        m => format!("{m}m"),
    }
}

/// A share as a percentage: `93%`, `-` without data.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn period(report: &Report) -> String {
    let since = report
        .since
        .map_or_else(|| "the start".to_owned(), |t| day(t.to_rfc3339()));
    let until = day(report.until.to_rfc3339());
    let at = report
        .at
        .as_deref()
        .map(|rev| format!(", the desk at commit {}", &rev[..rev.len().min(10)]))
        .unwrap_or_default();
    format!("from {since} to {until}{at}")
}

fn day(rfc3339: String) -> String {
    rfc3339.replace('T', " ").trim_end_matches('Z').to_owned()
}

/// The report as text.
pub(crate) fn table(ui: Painter, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        ui.paint(Style::Bold, &format!("Report {}", period(report)))
    );
    metrics_text(ui, &report.metrics, &mut out);
    if !report.groups.is_empty() {
        let _ = writeln!(out, "\n{}", ui.paint(Style::Bold, "By group"));
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>8} {:>9} {:>10} {:>6} {:>6}",
            "GROUP", "CREATED", "RESOLVED", "1ST REPLY", "RESOLUTION", "SLA", "CSAT"
        );
        for group in &report.groups {
            let m = &group.metrics;
            let key: String = crate::cli::render::cell(&group.key)
                .chars()
                .take(18)
                .collect();
            let _ = writeln!(
                out,
                "{key:<18} {:>7} {:>8} {:>9} {:>10} {:>6} {:>6}",
                m.volumes.created,
                m.volumes.resolved,
                duration(m.first_reply.calendar.median_minutes),
                duration(m.full_resolution.calendar.median_minutes),
                percent(overall_sla(m)),
                m.satisfaction
                    .average
                    .map_or_else(|| "-".to_owned(), |a| format!("{a:.1}")),
            );
        }
    }
    out
}

fn metrics_text(ui: Painter, m: &Metrics, out: &mut String) {
    let v = &m.volumes;
    let _ = writeln!(
        out,
        "\n{}  created {}, resolved {} ({} resolves), closed {} ({} automatically),\n          reopened {}",
        ui.paint(Style::Bold, "Tickets"),
        v.created,
        v.resolved,
        v.resolve_actions,
        v.closed,
        v.auto_closed,
        v.reopened
    );
    let _ = writeln!(
        out,
        "\n{:<18} {:>5} {:>8} {:>8} {:>8}   {:>8} {:>8}",
        ui.paint(Style::Bold, "Times"),
        "COUNT",
        "MEAN",
        "MEDIAN",
        "P90",
        "BUS.MED",
        "BUS.P90"
    );
    for (name, _, stat) in time_stats(m) {
        let _ = writeln!(out, "{}", stat_line(name, stat));
    }
    let s = &m.sla;
    let _ = writeln!(
        out,
        "\n{}  first reply {}, next reply {},\n         resolution {}, first assign {}",
        ui.paint(Style::Bold, "SLA met"),
        achievement(&s.first_reply),
        achievement(&s.next_reply),
        achievement(&s.resolution),
        achievement(&s.first_assign),
    );
    let _ = writeln!(
        out,
        "\n{}  one-touch {}, reopened {}, auto-closed too early {}",
        ui.paint(Style::Bold, "Rates"),
        percent(m.one_touch_rate),
        percent(m.reopen_rate),
        percent(m.premature_autoclose_rate),
    );
    let mean = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let _ = writeln!(
        out,
        "\n{}  {} assignees and {} departments per solved ticket",
        ui.paint(Style::Bold, "Stations"),
        mean(m.stations.assignees),
        mean(m.stations.departments),
    );
    let c = &m.satisfaction;
    let _ = writeln!(
        out,
        "\n{}  {} rating{}, average {}, {} gave 4 or 5,\n              {} of resolved tickets rated",
        ui.paint(Style::Bold, "Satisfaction"),
        c.count,
        if c.count == 1 { "" } else { "s" },
        c.average
            .map_or_else(|| "-".to_owned(), |a| format!("{a:.1}")),
        percent(c.share_4_5),
        percent(c.response_rate),
    );
    let b = &m.backlog;
    let statuses: Vec<String> = b
        .by_status
        .iter()
        .map(|(status, n)| format!("{} {n}", crate::cli::render::cell(status)))
        .collect();
    let a = &b.by_age;
    let _ = writeln!(
        out,
        "\n{}  {} open at the end{}\n          by age: <1d {}, 1-3d {}, 3-7d {}, 7-30d {}, >30d {}",
        ui.paint(Style::Bold, "Backlog"),
        b.total,
        if statuses.is_empty() {
            String::new()
        } else {
            format!(": {}", statuses.join(", "))
        },
        a.under_1d,
        a.d1_3,
        a.d3_7,
        a.d7_30,
        a.over_30d,
    );
}

/// The time statistics of a report, in the order shown, each with its
/// name in the text table and on the page.
fn time_stats(m: &Metrics) -> [(&'static str, &'static str, &Stat); 8] {
    [
        ("first reply", "First reply", &m.first_reply),
        ("next reply", "Next reply", &m.next_reply),
        ("first resolution", "First resolution", &m.first_resolution),
        ("full resolution", "Full resolution", &m.full_resolution),
        (
            "requester wait",
            "Requester wait",
            &m.time_in.requester_wait,
        ),
        ("agent work", "Agent work", &m.time_in.agent_work),
        ("waiting", "Waiting on the customer", &m.time_in.waiting),
        ("on hold", "On hold", &m.time_in.on_hold),
    ]
}

fn stat_line(name: &str, stat: &Stat) -> String {
    let Minutes {
        mean_minutes,
        median_minutes,
        p90_minutes,
    } = stat.calendar;
    format!(
        "  {name:<16} {:>5} {:>8} {:>8} {:>8}   {:>8} {:>8}",
        stat.count,
        duration(mean_minutes),
        duration(median_minutes),
        duration(p90_minutes),
        duration(stat.business.median_minutes),
        duration(stat.business.p90_minutes),
    )
}

fn achievement(a: &Achievement) -> String {
    match a.rate {
        Some(rate) => format!(
            "{} ({}/{})",
            percent(Some(rate)),
            a.achieved,
            a.achieved + a.breached
        ),
        None => "-".to_owned(),
    }
}

/// Every SLA instance of the period met, across metrics.
pub(crate) fn overall_sla(m: &Metrics) -> Option<f64> {
    let s = &m.sla;
    let all = [s.first_reply, s.next_reply, s.resolution, s.first_assign];
    let achieved: usize = all.iter().map(|a| a.achieved).sum();
    let total: usize = all.iter().map(|a| a.achieved + a.breached).sum();
    (total > 0).then(|| achieved as f64 / total as f64)
}

/// The report as one self-contained HTML page: the numbers and six
/// charts as inline SVG, styled by inline CSS; nothing is fetched. The page
/// is a minijinja template (autoescaped), the charts are drawn here.
pub(crate) fn html(report: &Report, charts: &Charts, desk: Option<&str>) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", include_str!("report.html"))
        .map_err(|e| format!("the report page: {e}"))?;
    let m = &report.metrics;
    let s = &m.sla;
    let sla_rows = [
        ("First reply", s.first_reply),
        ("Next reply", s.next_reply),
        ("Resolution", s.resolution),
        ("First assign", s.first_assign),
    ];
    let safe = minijinja::Value::from_safe_string;
    let series = svg::created_solved(charts);
    let first_reply = svg::bars(&charts.first_reply, "#4c78a8", "first replies");
    let resolution = svg::bars(&charts.resolution, "#54a24b", "resolutions");
    let sla = svg::rates(&sla_rows);
    let ages = [
        ("<1d", m.backlog.by_age.under_1d),
        ("1-3d", m.backlog.by_age.d1_3),
        ("3-7d", m.backlog.by_age.d3_7),
        ("7-30d", m.backlog.by_age.d7_30),
        (">30d", m.backlog.by_age.over_30d),
    ]
    .map(|(l, n)| (l.to_owned(), n));
    let backlog = svg::bars(&ages, "#e45756", "open tickets");
    let scores: Vec<(String, usize)> = (1..=5)
        .map(|n| (n.to_string(), charts.scores[n - 1]))
        .collect();
    let satisfaction = svg::bars(&scores, "#f58518", "ratings");
    let times: Vec<minijinja::Value> = time_stats(m)
        .iter()
        .map(|(_, name, stat)| {
            minijinja::context! {
                name => name,
                count => stat.count,
                mean => duration(stat.calendar.mean_minutes),
                median => duration(stat.calendar.median_minutes),
                p90 => duration(stat.calendar.p90_minutes),
                business_median => duration(stat.business.median_minutes),
                business_p90 => duration(stat.business.p90_minutes),
            }
        })
        .collect();
    let groups: Vec<minijinja::Value> = report
        .groups
        .iter()
        .map(|g| {
            let gm = &g.metrics;
            minijinja::context! {
                key => g.key,
                created => gm.volumes.created,
                resolved => gm.volumes.resolved,
                first_reply => duration(gm.first_reply.calendar.median_minutes),
                resolution => duration(gm.full_resolution.calendar.median_minutes),
                sla => percent(overall_sla(gm)),
                csat => gm.satisfaction.average.map_or_else(|| "-".to_owned(), |a| format!("{a:.1}")),
            }
        })
        .collect();
    let context = minijinja::context! {
        desk => desk.unwrap_or("tix"),
        period => period(report),
        volumes => m.volumes,
        times => times,
        one_touch => percent(m.one_touch_rate),
        reopen => percent(m.reopen_rate),
        premature => percent(m.premature_autoclose_rate),
        csat_average => m.satisfaction.average.map_or_else(|| "-".to_owned(), |a| format!("{a:.1}")),
        csat_share => percent(m.satisfaction.share_4_5),
        csat_count => m.satisfaction.count,
        backlog_total => m.backlog.total,
        sla_overall => percent(overall_sla(m)),
        groups => groups,
        bucket_days => charts.bucket_days,
        chart_series => safe(series),
        chart_first_reply => safe(first_reply),
        chart_resolution => safe(resolution),
        chart_sla => safe(sla),
        chart_backlog => safe(backlog),
        chart_satisfaction => safe(satisfaction),
    };
    env.get_template("report.html")
        .and_then(|t| t.render(context))
        .map_err(|e| format!("the report page: {e}"))
}

/// Charts as inline SVG. Every text in them goes through [`escape`].
mod svg {
    use std::fmt::Write as _;

    use super::escape;
    use crate::domain::report::{Achievement, Charts};

    const W: f64 = 420.0;
    const H: f64 = 200.0;
    const PAD: f64 = 28.0;

    /// Vertical bars, one per `(label, count)`, with the count above each.
    pub(super) fn bars(items: &[(String, usize)], color: &str, what: &str) -> String {
        let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
        let slot = (W - 2.0 * PAD) / items.len().max(1) as f64;
        let total: usize = items.iter().map(|(_, n)| n).sum();
        let mut out = open(&format!("{total} {what}"));
        if total == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"v\">no {} in the period</text></svg>",
                W / 2.0,
                H / 2.0,
                escape(what)
            );
            return out;
        }
        for (i, (label, n)) in items.iter().enumerate() {
            let h = (H - 2.0 * PAD) * (*n as f64) / max;
            let x = PAD + slot * i as f64 + slot * 0.15;
            let y = H - PAD - h;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\" rx=\"2\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"v\">{n}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"l\">{}</text>",
                slot * 0.7,
                x + slot * 0.35,
                y - 4.0,
                x + slot * 0.35,
                H - PAD + 16.0,
                escape(label)
            );
        }
        out.push_str("</svg>");
        out
    }

    /// Created and solved per bucket as two lines.
    pub(super) fn created_solved(charts: &Charts) -> String {
        let series = &charts.series;
        let max = series
            .iter()
            .map(|b| b.created.max(b.solved))
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let step = (W - 2.0 * PAD) / (series.len().max(2) - 1) as f64;
        let point = |i: usize, n: usize| {
            let x = PAD + step * i as f64;
            let y = H - PAD - (H - 2.0 * PAD) * n as f64 / max;
            format!("{x:.1},{y:.1}")
        };
        let line = |pick: fn(&crate::domain::report::Bucket) -> usize| -> String {
            series
                .iter()
                .enumerate()
                .map(|(i, b)| point(i, pick(b)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut out = open("created and solved tickets over time");
        let _ = write!(
            out,
            "<line x1=\"{PAD}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" class=\"axis\"/>\
             <polyline points=\"{}\" fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"2\"/>\
             <polyline points=\"{}\" fill=\"none\" stroke=\"#54a24b\" stroke-width=\"2\"/>\
             <text x=\"{PAD}\" y=\"14\" class=\"k\" style=\"fill:#4c78a8\">created</text>\
             <text x=\"{:.1}\" y=\"14\" class=\"k\" style=\"fill:#54a24b\">solved</text>\
             <text x=\"{:.1}\" y=\"14\" class=\"le\">at most {} per bucket</text>",
            line(|b| b.created),
            line(|b| b.solved),
            PAD + 70.0,
            W - PAD,
            max as usize,
            y = H - PAD,
            x2 = W - PAD,
        );
        if let (Some(first), Some(last)) = (series.first(), series.last()) {
            let _ = write!(
                out,
                "<text x=\"{PAD}\" y=\"{:.1}\" class=\"ls\">{}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"le\">{}</text>",
                H - PAD + 16.0,
                escape(&first.start),
                W - PAD,
                H - PAD + 16.0,
                escape(&last.start)
            );
        }
        out.push_str("</svg>");
        out
    }

    /// Horizontal bars of SLA achievement, 0 to 100%.
    pub(super) fn rates(rows: &[(&str, Achievement)]) -> String {
        let mut out = open("SLA achievement per metric");
        let row_h = (H - 2.0 * PAD) / rows.len().max(1) as f64;
        let left = 110.0;
        let width = W - left - PAD - 40.0;
        for (i, (label, a)) in rows.iter().enumerate() {
            let y = PAD + row_h * i as f64 + row_h * 0.2;
            let rate = a.rate.unwrap_or(0.0);
            let color = match a.rate {
                None => "#cccccc",
                Some(r) if r >= 0.9 => "#54a24b",
                Some(r) if r >= 0.7 => "#f58518",
                Some(_) => "#e45756",
            };
            let text = a.rate.map_or_else(
                || "no data".to_owned(),
                |r| {
                    format!(
                        "{:.0}% ({}/{})",
                        r * 100.0,
                        a.achieved,
                        a.achieved + a.breached
                    )
                },
            );
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"le\">{}</text>\
                 <rect x=\"{left}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"#eeeeee\" rx=\"2\"/>\
                 <rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" rx=\"2\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"vs\">{}</text>",
                left - 8.0,
                y + row_h * 0.4,
                escape(label),
                row_h * 0.6,
                width * rate,
                row_h * 0.6,
                left + 6.0,
                y + row_h * 0.42,
                escape(&text)
            );
        }
        out.push_str("</svg>");
        out
    }

    fn open(title: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{0}\"><title>{0}</title>",
            escape(title)
        )
    }
}

/// Text for HTML: `& < > " '` escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
