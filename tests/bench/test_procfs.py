import os

from tests.bench import procfs

# A command name with a space and a parenthesis, as a thread name may have.
STAT = (
    "4321 (python (x) y) S 4000 4321 4321 0 -1 4194560 202153 909 0 0 "
    "1053 34 7 8 20 0 13 0 879803 3215552512 264832 18446744073709551615"
)
STATUS = "Name:\tpython\nVmPeak:\t 3140192 kB\nVmRSS:\t 1059540 kB\nThreads:\t13\n"
NET_TCP = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
    "   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
    "        0 82523 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:138D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
    "        0 82600 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:1F40 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0"
    "        0 99999 1 0000000000000000 20 4 30 10 -1\n"
)


def test_parse_stat_counts_fields_after_the_command_name():
    stat = procfs.parse_stat(STAT)
    assert (stat.ppid, stat.utime, stat.stime, stat.starttime) == (4000, 1053, 34, 879803)
    assert stat.cpu_ticks == 1087


def test_parse_rss():
    assert procfs.parse_rss_kb(STATUS) == 1059540
    assert procfs.parse_rss_kb("Name:\tkthreadd\n") is None


def test_parse_listening_keeps_listening_sockets_only():
    assert procfs.parse_listening(NET_TCP) == {8000: 82523, 5005: 82600}


def fake_proc(tmp_path):
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "tcp").write_text(NET_TCP)
    for pid, ppid, inode in ((4321, 4000, 82523), (4322, 4000, 82600), (4000, 1, None)):
        d = proc / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "stat").write_text(
            STAT.replace("4321 (", f"{pid} (").replace(" S 4000 ", f" S {ppid} ")
        )
        (d / "status").write_text(STATUS)
        (d / "cmdline").write_bytes(b"python\0-m\0bot\0run\0")
        os.symlink("pipe:[1]", d / "fd" / "0")
        if inode:
            os.symlink(f"socket:[{inode}]", d / "fd" / "5")
    return proc


def test_readers_on_a_fake_proc(tmp_path):
    proc = fake_proc(tmp_path)
    assert procfs.pids_listening([8000, 5005, 5055], proc) == {8000: 4321, 5005: 4322}
    assert procfs.rss_kb(4321, proc) == 1059540
    assert procfs.cpu_seconds(4321, proc) == 1087 / procfs.CLOCK_TICKS
    assert procfs.cmdline(4000, proc) == ["python", "-m", "bot", "run"]
    assert sorted(pid for pid, _ in procfs.children(4000, proc)) == [4321, 4322]
    assert procfs.alive(4321, proc)
    assert not procfs.alive(999, proc)
    assert procfs.read_stat(999, proc) is None


def test_a_zombie_is_not_alive(tmp_path):
    proc = fake_proc(tmp_path)
    (proc / "4321" / "stat").write_text(STAT.replace(") S ", ") Z "))
    assert not procfs.alive(4321, proc)


def test_machine_ticks_from_proc_stat():
    text = "cpu  100 5 50 800 20 3 2 1 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 1 2\n"
    ticks = procfs.parse_machine_ticks(text)
    assert (ticks.busy, ticks.iowait, ticks.total) == (161, 20, 981)
