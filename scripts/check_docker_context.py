#!/usr/bin/env python3
"""Check that the Dockerfile's build stage copies everything the build needs.

No Docker engine is needed: the files that the build stage's COPY lines take from the build
context (minus what .dockerignore excludes) are assembled into an empty folder, and the
stage's own `cargo build` command runs there. A manifest that names a file the image lacks
(a `[[bench]]` whose source was not copied, say) or a source that was left out fails here as
it would in `docker build`.

Usage: scripts/check_docker_context.py [Dockerfile [context]]  (context: the Dockerfile's folder)
The build uses CARGO_TARGET_DIR (default: ./target), so dependencies are reused. It is a debug
build (`--release` is dropped from the Dockerfile's command): that checks the manifest and the
sources are complete and link, without a second release build of every dependency.
"""
import fnmatch
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def logical_lines(text):
    """Dockerfile lines with `\\` continuations joined and comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def build_stage(lines):
    """The instructions of the first stage (up to the next FROM)."""
    stage, seen = [], False
    for line in lines:
        if line.upper().startswith("FROM "):
            if seen:
                break
            seen = True
            continue
        if seen:
            stage.append(line)
    return stage


def ignore_patterns(context):
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    pats = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        pats.append((neg, pat))
    return pats


def ignored(rel, pats):
    """Docker's rule: the last matching pattern wins; a pattern matching a parent folder
    excludes what is inside it; `**` matches any number of folders."""
    parts = rel.split(os.sep)
    prefixes = [os.sep.join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for neg, pat in pats:
        regex_pat = pat.replace("**", "*")
        if any(fnmatch.fnmatchcase(p, regex_pat) for p in prefixes):
            result = not neg
    return result


def copy_source(context, src, dest_root, dest, pats):
    """COPY <src> <dest>: a file, a folder (its contents), or a glob."""
    matches = sorted(os.path.relpath(p, context) for p in glob.glob(os.path.join(context, src)))
    if not matches:
        sys.exit(f"COPY source {src!r} does not exist in the build context")
    to_dir = dest.endswith("/") or len(matches) > 1 or dest in (".", "./")
    for rel in matches:
        full = os.path.join(context, rel)
        if os.path.isdir(full):
            target = os.path.join(dest_root, dest)
            for dirpath, dirnames, filenames in os.walk(full):
                dirnames[:] = [d for d in dirnames
                               if not ignored(os.path.relpath(os.path.join(dirpath, d), context), pats)]
                for f in filenames:
                    frel = os.path.relpath(os.path.join(dirpath, f), context)
                    if ignored(frel, pats):
                        continue
                    out = os.path.join(target, os.path.relpath(os.path.join(dirpath, f), full))
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copy2(os.path.join(dirpath, f), out)
        else:
            if ignored(rel, pats):
                sys.exit(f"COPY source {rel!r} is excluded by .dockerignore")
            out = os.path.join(dest_root, dest, os.path.basename(rel)) if to_dir \
                else os.path.join(dest_root, dest)
            os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
            shutil.copy2(full, out)


def main():
    dockerfile = sys.argv[1] if len(sys.argv) > 1 else "Dockerfile"
    context = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 \
        else os.path.dirname(os.path.abspath(dockerfile))
    stage = build_stage(logical_lines(open(dockerfile, encoding="utf-8").read()))
    pats = ignore_patterns(context)
    workdir = "/"
    copies, cargo = [], None
    for line in stage:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "WORKDIR":
            workdir = rest.strip()
        elif word in ("COPY", "ADD"):
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            if any(a.startswith("--from") for a in shlex.split(rest)):
                continue
            copies.append((args[:-1], args[-1]))
        elif word == "RUN" and "cargo build" in rest:
            # the last command of the RUN line that builds the real sources
            cargo = rest.split("&&")[-1].strip()
    if cargo is None:
        sys.exit("no `cargo build` in the Dockerfile's build stage")
    argv = [a for a in shlex.split(cargo) if a != "--release"]
    with tempfile.TemporaryDirectory(prefix="dti-docker-context-") as tmp:
        for sources, dest in copies:
            dest = dest if dest.startswith("/") else os.path.join(workdir, dest)
            rel_dest = os.path.relpath(dest, workdir)
            for src in sources:
                copy_source(context, src, tmp, rel_dest + ("/" if dest.endswith("/") else ""), pats)
        env = dict(os.environ)
        env.setdefault("CARGO_TARGET_DIR", os.path.join(context, "target"))
        listed = sorted(os.path.relpath(os.path.join(d, f), tmp)
                        for d, _, fs in os.walk(tmp) for f in fs)
        print(f"build context as the image sees it: {len(listed)} files; running {' '.join(argv)}")
        done = subprocess.run(argv, cwd=tmp, env=env)
        if done.returncode != 0:
            sys.exit(f"the Dockerfile's build stage would fail: `{' '.join(argv)}` exited "
                     f"{done.returncode} in a folder holding only what it copies")
    print("the Dockerfile's build stage copies everything the build needs")


if __name__ == "__main__":
    main()
