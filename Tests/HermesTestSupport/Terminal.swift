/// Runs a program as a person at a terminal would: on a pseudo-terminal (python3's `pty`) of
/// `columns` columns, its size set before the program starts. Standard output and error both go
/// to the terminal, so `stdout` is everything shown, with the terminal's "\r\n" line ends.
package func runOnTerminal(
    _ path: String, _ arguments: [String], columns: Int = 80, timeout: Duration = .seconds(60)
) throws -> ProcessOutcome {
    let script = """
        import fcntl, os, pty, struct, sys, termios
        columns = int(sys.argv[1])
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
            os.execv(sys.argv[2], sys.argv[2:])
        shown = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(shown.decode())
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    return try ChildProcess.run(
        "/usr/bin/python3", ["-c", script, String(columns), path] + arguments, timeout: timeout)
}
