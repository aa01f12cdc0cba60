//! Every graduation report opened in headless Chromium (Debian's, installed
//! by scripts/chromium.sh on first use): a screenshot is taken, no script
//! error or console error happens, each chart is drawn, the decision and
//! its reason are on screen without scrolling, and the timeline's filters
//! hide and show rows. The test instruments a copy of each report with a
//! probe script that runs first, records errors, and writes its findings
//! into the page, which Chromium's --dump-dom then prints.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs first: notes errors and console errors, then (after load) checks
/// the layout and drives the filters, and writes what it found as JSON.
const PROBE: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
(function () {
  var original = console.error;
  console.error = function () { window.__errors.push('console: ' + Array.from(arguments).join(' ')); original.apply(console, arguments); };
})();
window.addEventListener('load', function () {
  var found = { errors: window.__errors };
  var decision = document.getElementById('decision');
  var rect = decision.getBoundingClientRect();
  found.decision_on_screen = rect.top >= 0 && rect.bottom <= window.innerHeight && decision.querySelector('.why').textContent.length > 5;
  found.charts = Array.from(document.querySelectorAll('figure.chart svg')).map(function (svg) {
    var box = svg.getBoundingClientRect();
    var longest = Array.from(svg.querySelectorAll('polyline')).reduce(function (m, p) { return Math.max(m, p.points.numberOfItems); }, 0);
    return { width: box.width, longest_line: longest };
  });
  function visible(kind) {
    return Array.from(document.querySelectorAll('#events tbody tr[data-kind=' + kind + ']')).filter(function (r) { return r.offsetParent !== null; }).length;
  }
  var paper = document.querySelector('#filters input[value=paper]');
  found.paper_rows = visible('paper');
  paper.checked = false; paper.dispatchEvent(new Event('change'));
  found.paper_rows_unticked = visible('paper');
  paper.checked = true; paper.dispatchEvent(new Event('change'));
  var find = document.getElementById('find');
  find.value = 'gate-will-never-say-this'; find.dispatchEvent(new Event('input'));
  found.rows_for_nonsense = Array.from(document.querySelectorAll('#events tbody tr')).filter(function (r) { return r.offsetParent !== null; }).length;
  var out = document.createElement('pre'); out.id = 'probe'; out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"#;

fn chromium() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/chromium.sh"))
        .output()
        .expect("running scripts/chromium.sh");
    assert!(
        out.status.success(),
        "scripts/chromium.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Chromium headless, as this machine needs it (no sandbox as root, no
/// background networking on a closed network), its profile in `profile`.
fn browse(chromium: &str, profile: &Path, args: &[String]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("running chromium")
}

fn graduations() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/graduation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios/graduation/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_graduation_report_renders_in_a_browser() {
    let chromium = chromium();
    let work = std::env::temp_dir().join(format!("raxx-sim-reports-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("a temporary folder");
    for file in graduations() {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let report = work.join(format!("{name}.html"));
        let run = Command::new(env!("CARGO_BIN_EXE_raxx-sim"))
            .arg("graduate")
            .arg(&file)
            .arg("--html")
            .arg(&report)
            .output()
            .expect("raxx-sim graduate");
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let html = std::fs::read_to_string(&report).expect("the report");
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{name}: the report reaches for the network"
        );

        let shot = work.join(format!("{name}.png"));
        let profile = work.join(format!("{name}-profile"));
        let out = browse(
            &chromium,
            &profile,
            &[
                format!("--screenshot={}", shot.display()),
                format!("file://{}", report.display()),
            ],
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 20_000,
            "{name}: the screenshot is {size} bytes\n{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let probed = work.join(format!("{name}-probed.html"));
        std::fs::write(
            &probed,
            html.replacen("<head>", &format!("<head>{PROBE}"), 1),
        )
        .expect("the probed copy");
        let out = browse(
            &chromium,
            &profile,
            &[
                "--dump-dom".to_string(),
                format!("file://{}", probed.display()),
            ],
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        let found = dom
            .split("<pre id=\"probe\">")
            .nth(1)
            .and_then(|rest| rest.split("</pre>").next())
            .unwrap_or_else(|| {
                panic!(
                    "{name}: the probe wrote nothing\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let found: serde_json::Value =
            serde_json::from_str(&found.replace("&quot;", "\"").replace("&amp;", "&"))
                .unwrap_or_else(|e| panic!("{name}: {e}: {found}"));
        assert_eq!(found["errors"], serde_json::json!([]), "{name}: {found}");
        assert_eq!(found["decision_on_screen"], true, "{name}: {found}");
        let charts = found["charts"].as_array().expect("charts");
        // P&L, cycles, and the fills of each symbol traded: all drawn.
        let figures = html.matches("<figure class=\"chart\"").count();
        assert!(html.contains("id=\"chart-fills-"), "{name}: no fills chart");
        assert!(figures >= 3, "{name}: {figures} charts");
        assert_eq!(charts.len(), figures, "{name}: {found}");
        for c in charts {
            assert!(c["width"].as_f64().unwrap_or(0.0) > 400.0, "{name}: {c}");
            // A series has a point per bar; the mesh's lines have two.
            assert!(c["longest_line"].as_u64().unwrap_or(0) >= 10, "{name}: {c}");
        }
        let paper = found["paper_rows"].as_u64().unwrap_or(0);
        if name != "never-graduates" {
            assert!(paper > 0, "{name}: no paper row shown: {found}");
        }
        assert_eq!(found["paper_rows_unticked"], 0, "{name}: {found}");
        assert_eq!(found["rows_for_nonsense"], 0, "{name}: {found}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
