import pytest

from harness.instruments.boards.platformio import required_scons, scons_release, write_project


def test_scons_release_unpacks_tool_scons_version():
    assert scons_release("~4.41101.0") == "4.11.1"
    assert scons_release("~4.40801.0") == "4.8.1"
    assert scons_release("4.40700.0") == "4.7.0"


def test_required_scons_comes_from_platformio_itself():
    assert required_scons().lstrip("~^").startswith("4.4")


def test_project_file_is_rewritten_only_on_change(tmp_path):
    kw = dict(
        env_name="e",
        src_dir=tmp_path / "src",
        build_dir=tmp_path / "b",
        platform="symlink:///p",
        board="b",
        build_flags=["-I/x"],
    )
    project = write_project(tmp_path / "proj", **kw)
    ini = tmp_path / "proj" / "platformio.ini"
    stamp = ini.stat().st_mtime_ns
    write_project(tmp_path / "proj", **kw)
    assert ini.stat().st_mtime_ns == stamp
    assert "platform = symlink:///p" in ini.read_text()
    assert project.program == tmp_path / "b" / "e" / "program"


# A deadline, not a timing: without the check pio would try the registry for a minute.
@pytest.mark.timeout(30)
def test_build_without_tool_scons_is_a_clear_error_at_once(tmp_path, monkeypatch):
    from harness.instruments.boards.platformio import build
    from harness.model.errors import ToolMissingError

    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "empty-core"))
    project = write_project(
        tmp_path / "proj",
        env_name="e",
        src_dir=tmp_path,
        build_dir=tmp_path / "b",
        platform="symlink:///p",
        board="b",
        build_flags=[],
    )
    with pytest.raises(ToolMissingError) as err:
        build(project, log_path=tmp_path / "build.log")
    assert "tool-scons" in str(err.value) and "hil setup" in str(err.value)
