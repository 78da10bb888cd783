// Command reconciler applies NubeFacT notifications to Postgres. See the README and
// `reconciler -h`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hotelpe/boletas/reconciler/cli"
)

func main() {
	if err := cli.Main(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reconciler:", err)
		os.Exit(1)
	}
}
