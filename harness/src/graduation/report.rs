//! The graduation report: one self-contained HTML file (no network needed
//! to open it) for product staff. First the decision in words (graduated
//! or not, when, why; live P&L beside paper P&L), then the charts (drawn
//! by plotters as inline SVG: P&L over time for paper and live, fills
//! against the price, paper cycles against the gate's threshold; faults
//! marked on each time axis), then the whole timeline with filters.

use std::fmt::Write as _;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use plotters::coord::types::RangedCoordf64;

use super::replay::{BarState, FillMark, Journey};

const WIDTH: u32 = 880;
const HEIGHT: u32 = 260;
const PAPER: RGBColor = RGBColor(0x5b, 0x6b, 0x8c);
const LIVE: RGBColor = RGBColor(0x1b, 0x8a, 0x5a);
const PRICE: RGBColor = RGBColor(0x44, 0x44, 0x44);
const FAULT: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const GATE: RGBColor = RGBColor(0xd3, 0x8b, 0x10);

/// The report of a replayed graduation.
pub fn html(journey: &Journey) -> String {
    let mut out = String::new();
    let title = escape(&journey.title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(
        out,
        "<header><h1>{title}</h1><p>{}</p><p class=\"meta\">{} · seed {} · file {}</p></header>",
        escape(&journey.description),
        escape(&journey.connections().join(", ")),
        journey.seed,
        escape(&journey.name)
    );
    summary(&mut out, journey);
    out.push_str("<section id=\"charts\">\n");
    for (id, caption, svg) in charts(journey) {
        let _ = writeln!(
            out,
            "<figure class=\"chart\" id=\"{id}\"><figcaption>{caption}</figcaption>{svg}</figure>"
        );
    }
    out.push_str("</section>\n");
    timeline(&mut out, journey);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

fn summary(out: &mut String, j: &Journey) {
    let marks = j.marks();
    let (class, headline, why) = match &j.graduated {
        Some(g) => (
            "graduated",
            format!(
                "Graduated on day {} ({})",
                g.day,
                g.at.format("%a %Y-%m-%d %H:%M UTC")
            ),
            g.reason.clone(),
        ),
        None => ("not-graduated", "Not graduated".to_string(), j.gate.clone()),
    };
    let _ = write!(
        out,
        "<section id=\"decision\" class=\"{class}\"><h2>{}</h2><p class=\"why\">Why: {}</p>\
         <table class=\"pnl\"><tr><th></th><th>orders filled</th><th>refused</th><th>P&amp;L</th></tr>\
         <tr><td>Paper (MBT)</td><td>{}</td><td>{}</td><td>{}</td></tr>\
         <tr><td>Live ({})</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        escape(&headline),
        escape(&why),
        j.paper.filled(),
        j.paper.refused(),
        j.paper.pnl(&marks),
        escape(&j.connections().join(", ")),
        j.live.filled(),
        j.live.refused(),
        j.live.pnl(&marks),
    );
    let read_only = std::iter::once((j.broker.as_str(), j.trades))
        .chain(j.household.iter().map(|o| (o.broker.as_str(), o.trades)))
        .filter(|(_, trades)| !trades);
    for (broker, _) in read_only {
        let _ = write!(
            out,
            "<p class=\"read-only\">{} is a read-only (Tier C) connection: it can be viewed, \
             never traded, whatever the gate says. Every live order is refused before it \
             reaches the broker.</p>",
            escape(broker)
        );
    }
    for o in &j.household {
        let said = match &o.graduated {
            Some(g) => format!(
                "also graduated on day {} ({}): {}",
                g.day,
                g.at.format("%a %Y-%m-%d %H:%M UTC"),
                g.reason
            ),
            None => format!("not graduated: {}", o.gate),
        };
        let _ = write!(
            out,
            "<p class=\"household\">The household's {} connection {}</p>",
            escape(&o.broker),
            escape(&said)
        );
    }
    if let Some(p) = &j.problem {
        let _ = write!(
            out,
            "<p class=\"problem\">The replay stopped: {}</p>",
            escape(p)
        );
    }
    out.push_str("</section>\n");
}

fn timeline(out: &mut String, j: &Journey) {
    out.push_str("<section id=\"timeline\"><h2>Timeline</h2><div id=\"filters\">");
    for kind in ["market", "fault", "paper", "gate", "live"] {
        let checked = if kind == "market" { "" } else { " checked" };
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"kind\" value=\"{kind}\"{checked}> {kind}</label>"
        );
    }
    out.push_str(
        "<input type=\"search\" id=\"find\" placeholder=\"find in the timeline\"></div>\
         <table id=\"events\"><thead><tr><th>day</th><th>bar</th><th>time (UTC)</th>\
         <th>what</th><th>detail</th></tr></thead><tbody>\n",
    );
    for l in &j.lines {
        let _ = writeln!(
            out,
            "<tr class=\"{0}\" data-kind=\"{0}\"><td>{1}</td><td>{2}</td><td>{3}</td><td>{0}</td><td>{4}</td></tr>",
            l.kind,
            l.day,
            l.bar,
            l.at.format("%Y-%m-%d %H:%M"),
            escape(&l.text)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// Each chart: its element id, caption and SVG. One chart of fills for
/// each symbol a strategy trades.
fn charts(j: &Journey) -> Vec<(String, String, String)> {
    fonts();
    let mut out = vec![(
        "chart-pnl".to_string(),
        "P&amp;L over time, paper and live (the gate opens at the orange line; faults begin or end at the red ones)".to_string(),
        draw(|area| pnl_chart(area, j)),
    )];
    for symbol in &j.traded {
        out.push((
            format!("chart-fills-{}", escape(symbol)),
            format!(
                "Fills against {}'s price: buys green, sells red, paper hollow, live solid",
                escape(symbol)
            ),
            draw(|area| fills_chart(area, j, symbol)),
        ));
    }
    out.push((
        "chart-cycles".to_string(),
        "Paper cycles against the gate's threshold".to_string(),
        draw(|area| cycles_chart(area, j)),
    ));
    out
}

/// Plotters measures text with a font it is given: DejaVu Sans, embedded,
/// since a fresh machine may have no fonts at all.
fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

fn draw(chart: impl FnOnce(&Area) -> Drawn) -> String {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = area
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| chart(&area));
        let _ = area.present();
        if let Err(e) = drawn {
            drop(area);
            return format!(
                "<p class=\"problem\">the chart could not be drawn: {}</p>",
                escape(&e.to_string())
            );
        }
    }
    svg
}

fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

/// A range around `values` with some air, never empty.
fn span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.08).max(0.5);
    (lo - pad)..(hi + pad)
}

/// A label at each day's first bar; the mesh asks at every bar.
fn x_label(j: &Journey) -> impl Fn(&f64) -> String + '_ {
    move |x| {
        j.bars
            .get(x.round().max(0.0) as usize)
            .filter(|b| b.bar == 1 && (x - x.round()).abs() < 1e-6)
            .map(|b| format!("day {}", b.day))
            .unwrap_or_default()
    }
}

/// One mesh line per bar (so that each day's first bar gets its label).
fn x_labels(j: &Journey) -> usize {
    j.bars.len().max(2)
}

/// The bars at which a fault began or ended, as x positions.
fn fault_bars(j: &Journey) -> Vec<f64> {
    j.lines
        .iter()
        .filter(|l| l.kind == "fault")
        .filter_map(|l| j.bars.iter().position(|b| (b.day, b.bar) == (l.day, l.bar)))
        .map(|i| i as f64)
        .collect()
}

/// The faults (red) and the gate's opening (orange) across the chart.
fn marks(chart: &mut Chart<'_, '_>, j: &Journey, y: &std::ops::Range<f64>) -> Drawn {
    for x in fault_bars(j) {
        chart.draw_series(LineSeries::new(
            [(x, y.start), (x, y.end)],
            FAULT.stroke_width(2),
        ))?;
    }
    // Where the gate opened.
    let opened = j
        .graduated
        .as_ref()
        .and_then(|g| j.bars.iter().position(|b| (b.day, b.bar) == (g.day, g.bar)));
    if let Some(x) = opened {
        chart.draw_series(LineSeries::new(
            [(x as f64, y.start), (x as f64, y.end)],
            GATE.stroke_width(3),
        ))?;
    }
    Ok(())
}

fn x_range(j: &Journey) -> std::ops::Range<f64> {
    0.0..(j.bars.len().max(2) - 1) as f64
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart over the journey's bars: its axes, its mesh labelled by day,
/// the faults and the gate's opening.
fn frame<'a, 'b>(
    area: &'a Area<'b>,
    j: &Journey,
    y: std::ops::Range<f64>,
    y_desc: &str,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range(j), y.clone())?;
    chart
        .configure_mesh()
        .x_labels(x_labels(j))
        .x_label_formatter(&x_label(j))
        .y_desc(y_desc)
        .draw()?;
    marks(&mut chart, j, &y)?;
    Ok(chart)
}

/// A line with its entry in the legend.
fn line(
    chart: &mut Chart<'_, '_>,
    points: impl IntoIterator<Item = (f64, f64)>,
    color: RGBColor,
    label: &str,
) -> Drawn {
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Drawn {
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    Ok(())
}

/// Each bar's value of `of`, at the bar's position.
fn per_bar(j: &Journey, of: impl Fn(&BarState) -> f64) -> Vec<(f64, f64)> {
    j.bars
        .iter()
        .enumerate()
        .map(|(i, b)| (i as f64, of(b)))
        .collect()
}

fn pnl_chart(area: &Area, j: &Journey) -> Drawn {
    let y = span(j.bars.iter().flat_map(|b| [f(b.paper_pnl), f(b.live_pnl)]));
    let mut chart = frame(area, j, y, "P&L")?;
    line(&mut chart, per_bar(j, |b| f(b.paper_pnl)), PAPER, "paper")?;
    line(&mut chart, per_bar(j, |b| f(b.live_pnl)), LIVE, "live")?;
    legend(&mut chart)
}

fn fills_chart(area: &Area, j: &Journey, symbol: &str) -> Drawn {
    let price = |b: &BarState| f(b.prices.get(symbol).copied().unwrap_or_default());
    let fills: Vec<&FillMark> = j.fills.iter().filter(|m| m.symbol == symbol).collect();
    let y = span(
        j.bars
            .iter()
            .map(price)
            .chain(fills.iter().map(|m| f(m.price))),
    );
    let mut chart = frame(area, j, y, symbol)?;
    chart.draw_series(LineSeries::new(per_bar(j, price), PRICE.stroke_width(1)))?;
    let style = |m: &FillMark| {
        let color = if m.side == adapters::Side::Buy {
            LIVE
        } else {
            FAULT
        };
        if m.live {
            color.filled()
        } else {
            color.stroke_width(2)
        }
    };
    chart.draw_series(
        fills
            .into_iter()
            .map(|m| Circle::new((m.index as f64, f(m.price)), 5, style(m))),
    )?;
    Ok(())
}

fn cycles_chart(area: &Area, j: &Journey) -> Drawn {
    let counted = j.bars.iter().map(|b| b.cycles).max().unwrap_or(0);
    let y = 0.0..f64::from(j.required_cycles.max(counted)) + 1.0;
    let mut chart = frame(area, j, y, "paper cycles")?;
    let need = f64::from(j.required_cycles);
    let end = x_range(j).end;
    line(
        &mut chart,
        [(0.0, need), (end, need)],
        GATE,
        "the gate's threshold",
    )?;
    line(
        &mut chart,
        per_bar(j, |b| f64::from(b.cycles)),
        PAPER,
        "paper cycles counted",
    )?;
    legend(&mut chart)
}

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:920px;padding:16px;color:#222}\
header h1{margin:0 0 4px;font-size:1.5em}.meta{color:#666;font-size:.9em}\
#decision{border-radius:8px;padding:12px 16px;margin:12px 0}\
#decision.graduated{background:#e7f6ee;border:2px solid #1b8a5a}\
#decision.not-graduated{background:#fdf1e1;border:2px solid #d38b10}\
#decision h2{margin:0 0 6px}.why{font-size:1.1em;margin:0 0 8px}\
table.pnl td,table.pnl th{padding:2px 12px;text-align:right}table.pnl td:first-child{text-align:left}\
.problem{color:#c0392b;font-weight:bold}figure.chart{margin:16px 0}figcaption{font-weight:bold;margin-bottom:4px}\
#filters{margin:8px 0}#filters label{margin-right:12px}#find{margin-left:8px}\
#events{border-collapse:collapse;width:100%;font-size:.9em}#events td,#events th{border-bottom:1px solid #eee;padding:2px 6px;text-align:left}\
tr.fault td{color:#c0392b}tr.gate td{color:#b06f00;font-weight:bold}tr.live td:nth-child(4){color:#1b8a5a}\
tr.hidden{display:none}";

/// The timeline's filters: the kinds ticked, and a text to find.
const SCRIPT: &str = "(function(){\
var boxes=document.querySelectorAll('#filters input[name=kind]');var find=document.getElementById('find');\
function apply(){var on={};boxes.forEach(function(b){on[b.value]=b.checked;});var q=find.value.toLowerCase();\
document.querySelectorAll('#events tbody tr').forEach(function(r){\
var show=on[r.dataset.kind]&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);r.classList.toggle('hidden',!show);});}\
boxes.forEach(function(b){b.addEventListener('change',apply);});find.addEventListener('input',apply);apply();})();";
