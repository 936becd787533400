//! Progress bars: drawn for a person at a terminal (a pseudo-terminal here), never into pipes or JSON logs.

use std::path::Path;
use std::process::Command;

use cdc_test_support::PgCluster;

use crate::support::cdc;

/// Runs `command` with stdout and stderr on a pseudo-terminal; what the terminal showed, escapes included.
fn on_terminal(command: &Command, dir: &Path) -> String {
    let screen = dir.join("terminal.out");
    let mut pty = Command::new("python3");
    pty.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/in_pty.py")).arg(&screen).arg("120").arg("--");
    // A terminal that can redraw (with TERM unset or `dumb`, indicatif rightly draws nothing).
    pty.arg(command.get_program()).args(command.get_args()).current_dir(dir).env_clear().env("TERM", "xterm");
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            pty.env(key, value);
        }
    }
    let status = pty.status().unwrap();
    let shown = String::from_utf8_lossy(&std::fs::read(&screen).unwrap()).into_owned();
    assert!(status.success(), "{status}; the terminal showed:\n{shown}");
    shown
}

#[tokio::test]
async fn bars_show_on_a_terminal_for_db_init_and_the_snapshot_and_nowhere_else() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();

    let mut init = cdc(&cluster, "postgres", dir.path());
    init.args(["db", "init"]);
    let shown = on_terminal(&init, dir.path());
    assert!(shown.contains("database initialised"), "{shown}");
    assert!(
        shown.contains("db init") && shown.contains("16/16"),
        "db init bar missing or incomplete:\n{shown}"
    );

    // Analysed, customers has a row estimate and gets a bar; the other tables get counters.
    cluster.connect("postgres").await.batch_execute("ANALYZE customers").await.unwrap();
    std::fs::write(dir.path().join("cdc.toml"), "[source]\nsnapshot_mode = \"initial_only\"\n").unwrap();
    let mut run = cdc(&cluster, "postgres", dir.path());
    run.args(["run"]);
    let shown = on_terminal(&run, dir.path());
    // The sample data's customers table has 10 rows; the finished bar shows what was copied.
    let bar = shown
        .split(['\r', '\n'])
        .rfind(|line| line.contains("snapshot public.customers"))
        .unwrap_or_else(|| panic!("no snapshot bar for customers:\n{shown}"));
    assert!(bar.contains("10/10 rows"), "customers bar is not complete: {bar:?}\n{shown}");
    assert!(shown.contains("snapshot public.products"), "a table without estimate shows a counter:\n{shown}");

    // Into a pipe, and as JSON logs on a terminal: no bars.
    let piped = cdc(&cluster, "postgres", dir.path()).args(["db", "init"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert!(piped.status.success() && stdout.contains("nothing changed"), "{stdout}");
    assert!(!stdout.contains("db init") && !stdout.contains('\x1b'), "bar drawn into a pipe:\n{stdout}");
    let mut json = cdc(&cluster, "postgres", dir.path());
    json.args(["--log-format", "json", "db", "init"]);
    let shown = on_terminal(&json, dir.path());
    assert!(
        shown.contains("nothing changed") && !shown.contains("16/16"),
        "bar drawn with JSON logs:\n{shown}"
    );
}
