// Command bench measures the system on this machine and prints one table, every figure beside a
// baseline measured in the same run (the machine is shared and noisy: ratios travel, absolute
// numbers do not). It also writes the results as JSON so that two runs can be compared.
//
//	go run ./system/cmd/bench -only regularization -json bench.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one measured figure and, where it has one, its baseline.
type Result struct {
	Scenario      string  `json:"scenario"`
	Metric        string  `json:"metric"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline,omitempty"`
	BaselineValue float64 `json:"baseline_value,omitempty"`
	Ratio         float64 `json:"ratio,omitempty"`
}

func withBaseline(r Result, base string, valor float64) Result {
	r.Baseline, r.BaselineValue = base, valor
	if valor != 0 {
		r.Ratio = r.Value / valor
	}
	return r
}

// logw receives progress lines; the table goes to stdout.
var logw = os.Stderr

type environment struct {
	bin, adminDSN, natsURL string
	replicas               int    // of every stream on natsURL: 0 or 1 on one server, 3 on the cluster
	logs                   string // the services' logs, kept when the bench fails
}

func (e environment) streamReplicas() int { return max(1, e.replicas) }

type scenario struct {
	name string
	run  func(ctx context.Context, e environment) ([]Result, error)
}

var scenarios = []scenario{
	{"ingest", ingestScenario},
	{"reconciler", reconcilerScenario},
	{"end-to-end", endToEnd},
	{"regularization", regularizacionScenario},
	{"durability", durability},
	{"console", consoleScenario},
	{"paginas", paginasScenario},
	// Last: its three nodes and their stores leave the machine busy for a while.
	{"cluster", clusterScenario},
}

func main() {
	var e environment
	flag.StringVar(&e.bin, "bin", "bin", "directory of the built binaries")
	flag.StringVar(&e.adminDSN, "pg", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres connection allowed to CREATE DATABASE")
	flag.StringVar(&e.natsURL, "nats", envOr("NATS_URL", "nats://127.0.0.1:4222"), "NATS server with JetStream")
	bare := flag.String("serve-bare", "", "internal: serve the bare net/http baseline on this address")
	only := flag.String("only", "", "comma-separated scenarios to run (default: all): "+scenarioNames())
	out := flag.String("json", "", "also write the results to this JSON file")
	compare := flag.String("compare", "", "a JSON file of an earlier run: print how each figure changed")
	flag.Parse()
	if *bare != "" {
		if err := serveBaseline(*bare); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	if e.logs, err = os.MkdirTemp("", "boletas-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	var todos []Result
	start := time.Now()
	for _, s := range scenarios {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), s.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", s.name)
		rs, err := s.run(ctx, e)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n(logs kept in %s)\n", s.name, err, e.logs)
			os.Exit(1)
		}
		todos = append(todos, rs...)
	}
	_ = os.RemoveAll(e.logs)
	printTable(todos, time.Since(start))
	if *compare != "" {
		if err := compareWith(*compare, todos); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *out != "" {
		b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "results": todos}, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func printTable(rs []Result, took time.Duration) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMETRIC\tVALUE\tBASELINE\tBASELINE VALUE\tRATIO")
	for _, r := range rs {
		base, ratio := "", ""
		if r.Baseline != "" {
			base = fmt.Sprintf("%.4g %s", r.BaselineValue, r.Unit)
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g %s\t%s\t%s\t%s\n", r.Scenario, r.Metric, r.Value, r.Unit, r.Baseline, base, ratio)
	}
	_ = tw.Flush()
	fmt.Printf("(bench took %s)\n", took.Round(time.Second))
}

func scenarioNames() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// compareWith prints, for every figure also in the earlier run, both values and their ratio.
// Ratios against a baseline travel between machines better than absolute values do.
func compareWith(path string, ahora []Result) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var antes struct {
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(b, &antes); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	prev := map[string]Result{}
	for _, r := range antes.Results {
		prev[r.Scenario+"|"+r.Metric] = r
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nCOMPARED WITH %s\nSCENARIO\tMETRIC\tBEFORE\tNOW\tNOW/BEFORE\tRATIO BEFORE\tRATIO NOW\n", path)
	for _, r := range ahora {
		p, ok := prev[r.Scenario+"|"+r.Metric]
		if !ok || p.Value == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.2f×\t%.2f\t%.2f\n", r.Scenario, r.Metric, p.Value, r.Value, r.Value/p.Value, p.Ratio, r.Ratio)
	}
	return tw.Flush()
}
