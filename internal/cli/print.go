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
// printPage prints one page of a paginated listing like printList; when
// more items follow it adds "next" to the JSON, or tells on errOut how to
// get the next page (stdout stays a clean table).
func printPage[T any](out, errOut io.Writer, asJSON bool, key string, items []T, next, header string, row func(T) string) error {
	if asJSON {
		if items == nil {
			items = []T{}
		}
		body := map[string]any{key: items}
		if next != "" {
			body["next"] = next
		}
		return printJSON(out, body)
	}
	if err := printList(out, false, key, items, header, row); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(errOut, "more: --after %s\n", next)
	}
	return nil
}

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
