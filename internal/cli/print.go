package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList prints a listing: with asJSON one object {key: [items]} (an
// empty list, never null), else a table of header and one row per item
// (tab-separated cells).
func printList[T any](out io.Writer, asJSON bool, key string, items []T, header string, row func(T) string) error {
	if asJSON {
		if items == nil {
			items = []T{}
		}
		return printJSON(out, map[string]any{key: items})
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	return tw.Flush()
}
