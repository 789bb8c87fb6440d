// Command thumbnail resizes a PNG or JPEG image to fit in a box, keeping its
// aspect ratio, and writes it as PNG or JPEG.
//
//	thumbnail [-size WxH] [-format png|jpeg] [-quality Q] [WxH] [FILE]
//
// The image is read from FILE (for example /in/photo.jpg) or stdin and
// written to stdout. The box defaults to 128x128 (or $SIZE), the format to
// the input's (or $FORMAT), JPEG quality to 85 (or $QUALITY). Images are
// only ever made smaller. Resampling uses the Catmull-Rom kernel.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/examples/apps/internal/imageio"
)

// parseSize parses "WxH".
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil {
		return 0, 0, fmt.Errorf("bad size %q (want WxH, like 128x128)", s)
	}
	if w < 1 || h < 1 || w > 16384 || h > 16384 {
		return 0, 0, fmt.Errorf("bad size %q (each side 1 to 16384)", s)
	}
	return w, h, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "thumbnail: "+format+"\n", a...)
		os.Exit(1)
	}
	quality, err := strconv.Atoi(env("QUALITY", "85"))
	if err != nil {
		fail("bad QUALITY: %v", err)
	}
	size := flag.String("size", env("SIZE", "128x128"), "the box to fit in, WxH")
	format := flag.String("format", env("FORMAT", ""), "output format: png or jpeg (default: as the input)")
	flag.IntVar(&quality, "quality", quality, "JPEG quality, 1-100")
	flag.Parse()

	args := flag.Args()
	if len(args) > 0 {
		if _, _, err := parseSize(args[0]); err == nil { // a WxH argument
			*size, args = args[0], args[1:]
		}
	}
	if len(args) > 1 {
		fail("at most one input file")
	}
	boxW, boxH, err := parseSize(*size)
	if err != nil {
		fail("%v", err)
	}
	outFormat, err := imageio.Format(*format)
	if err != nil {
		fail("%v", err)
	}
	if quality < 1 || quality > 100 {
		fail("quality must be 1 to 100")
	}

	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	src, inFormat, err := imageio.Read(name)
	if err != nil {
		fail("%v", err)
	}
	if outFormat == "" {
		outFormat = inFormat
	}

	if err := imageio.Write(imageio.Thumbnail(src, boxW, boxH), outFormat, quality); err != nil {
		fail("%v", err)
	}
}
