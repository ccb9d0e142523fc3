"""What every benchmark records of its machine: here, whether a fresh process must compile the
modules it imports (start-up figures count that)."""

import py_compile

from bench.common import uncompiled_note, uncompiled_startup_modules


def test_modules_without_bytecode_are_named_and_noted(tmp_path, monkeypatch):
    package = tmp_path / "startpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = (("startpkg", "__init__.py"), ("startpkg", "sub/__init__.py"),
               ("no_such_package_here", "__init__.py"))
    assert uncompiled_startup_modules(modules) == ["startpkg/__init__.py",
                                                   "startpkg/sub/__init__.py"]
    note = uncompiled_note(["startpkg/sub/__init__.py"])
    assert note.startswith("note: ") and "startpkg/sub/__init__.py" in note and "\n" not in note

    py_compile.compile(str(package / "sub" / "__init__.py"))
    assert uncompiled_startup_modules(modules) == ["startpkg/__init__.py"]
    py_compile.compile(str(package / "__init__.py"))
    assert uncompiled_startup_modules(modules) == [] and uncompiled_note([]) is None
