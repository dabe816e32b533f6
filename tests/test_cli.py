"""The command line as a user meets it: config errors are one line with exit status 2, never a traceback."""

from conftest import run_cli


def test_check_config_accepts_the_default_config():
    result = run_cli("check-config")
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_a_bad_config_is_one_line_naming_file_line_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("venues:\n  - {name: sim-alpha, source: sim}\ninstruments: []\nsim:\n  speed: fast\n")
    for args in (["check-config", str(bad)], ["--config", str(bad), "--headless", "--duration", "1"]):
        result = run_cli(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "bad.yaml:5: sim.speed:" in lines[0]
        assert result.stdout == ""


def test_bad_speed_option_is_rejected_before_anything_runs():
    result = run_cli("--speed", "-3", "--headless")
    assert result.returncode == 2
    assert "speed must be 'max' or a positive number" in result.stderr
