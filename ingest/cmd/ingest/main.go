// Command ingest receives NubeFacT's webhooks. See the README and `ingest -h`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hotelpe/boletas/ingest"
)

func main() {
	if err := ingest.Main(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}
