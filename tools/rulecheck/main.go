// rulecheck parses Prometheus rule files with Prometheus's own rulefmt package, expressions
// included (what `promtool check rules` does first), without building all of promtool.
// Usage: go run ./tools/rulecheck FILE...; exit 1 and one line per error if any file is bad.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	bad := 0
	for _, path := range os.Args[1:] {
		_, errs := rulefmt.ParseFile(path, false, model.LegacyValidation, parser.NewParser(parser.Options{}),
			slog.New(slog.DiscardHandler))
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, err)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
