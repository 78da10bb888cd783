package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/console"
	"golang.org/x/term"
)

// stdin is where console-user reads the password (a test replaces it).
var stdin io.Reader = os.Stdin

const consoleUserUsage = `Usage: reconciler console-user NAME

Reads a password (12 to 72 characters) from the first line of standard input, without echo
when it is a terminal, and prints the CONSOLE_USERS entry for NAME: NAME:bcrypt-hash. Join
several entries with commas:
  CONSOLE_USERS="$(reconciler console-user ana < ana.txt),$(reconciler console-user luis < luis.txt)"
The password is never printed nor logged.
`

func parseConsoleUser(fs *flag.FlagSet, args []string) (runner, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, errors.New("console-user: give one NAME")
	}
	name := fs.Arg(0)
	return func(_ context.Context, _ reconciler.Config, _ *slog.Logger, stdout, stderr io.Writer) error {
		fmt.Fprintf(stderr, "password for %s (one line): ", name)
		password, err := readPassword(stdin)
		if err != nil {
			return fmt.Errorf("console-user: reading the password: %w", err)
		}
		fmt.Fprintln(stderr)
		par, err := console.Par(name, password)
		if err != nil {
			return fmt.Errorf("console-user: %w", err)
		}
		fmt.Fprintln(stdout, par)
		return nil
	}, nil
}

// readPassword reads the first line of r: from a terminal without echoing it (the screen, a
// screen share or the scrollback would show it), from a pipe or a file as it comes.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		return string(b), err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
