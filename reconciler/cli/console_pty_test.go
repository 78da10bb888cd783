//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/system/testkit"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the master side (what a terminal emulator reads and writes)
// and the terminal the program sees. Linux's /dev/ptmx, without a dependency for it.
func openPTY(tb testing.TB) (master, tty *os.File) {
	tb.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		tb.Skipf("no pseudo-terminal here: %v", err)
	}
	tb.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		tb.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		tb.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tty.Close() })
	return master, tty
}

// Typed at a terminal, the password is not echoed: what the terminal shows never contains it.
// Not parallel: it replaces stdin.
func TestConsoleUserTerminalSinEco(t *testing.T) {
	defer func(r io.Reader) { stdin = r }(stdin)
	master, tty := openPTY(t)
	stdin = tty
	const secreto = "clave-tecleada-en-la-terminal"
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Ejecutar(context.Background(), reconciler.Config{}, []string{"console-user", "ana"}, &out, &errOut)
	}()
	// Type only once echo is off, as a person would after the prompt: the terminal echoes what
	// arrives while echo is on.
	testkit.Eventually(t, 10*time.Second, "console-user to turn the terminal's echo off", func() bool {
		st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return st.Lflag&unix.ECHO == 0
	})
	if _, err := master.WriteString(secreto + "\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("console-user: %v\n%s", err, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("console-user did not finish")
	}
	// What the terminal displayed: everything up to a marker written after the command ended.
	if _, err := tty.WriteString("FIN\n"); err != nil {
		t.Fatal(err)
	}
	var shown []byte
	buf := make([]byte, 256)
	for !bytes.Contains(shown, []byte("FIN")) {
		n, err := master.Read(buf)
		shown = append(shown, buf[:n]...)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	if bytes.Contains(shown, []byte(secreto)) {
		t.Errorf("the terminal showed the password: %q", shown)
	}
	u, err := console.ParseUsuarios(strings.TrimSpace(out.String()))
	if err != nil || !u.Valido("ana", secreto, time.Now()) {
		t.Errorf("the printed entry %q does not check the typed password (%v)", out.String(), err)
	}
}
