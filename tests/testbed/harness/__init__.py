"""The test bed's harness, the work behind tests/testbed/run.

The program runs twice. The outer part (outer.py) makes the state folder and re-executes
run under unshare(1) in new mount, network and PID namespaces; the inner part (bed.py,
PID 1 there) builds the bed, runs COMMAND and tears the bed down.

Being PID 1 has two consequences that shape the inner part. It must reap every child,
including orphans, so one reaper thread owns waitpid() and everything else waits through
it (processes.py). And when it exits the kernel kills whatever is left in the namespace,
so no process of the bed can outlive it, whatever happens.

The inner part's pieces:

- namespace.py: loopback, the private /run/pcscd, the hidden USB drivers, and the
  removal of the state folder without reaching through a mount;
- pcscd.py: the vpcd driver copies, the ports, reader.conf.d, starting pcscd;
- card.py: starting cardsim and waiting until pcscd sees the card;
- control.py: the harness.sock server (pcscd and reader commands);
- command.py: running COMMAND and watching the bed while it runs;
- terminal.py: handing the terminal to COMMAND and taking it back.
"""
