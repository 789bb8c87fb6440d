// Package imageio holds what the image example apps share: reading a PNG or
// JPEG from stdin or a file with a guard against decompression bombs, and
// writing it back out as PNG or JPEG.
package imageio

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"strings"

	"golang.org/x/image/draw"
)

// MaxPixels bounds the decoded size of an input image, so that a small file
// that claims huge dimensions is refused before it is decoded. 25 megapixels
// (a 6000x4000 photo) fit the apps' 256 MiB memory limit.
const MaxPixels = 25_000_000

// Read reads one PNG or JPEG image from the named file, or from stdin when
// name is "" or "-". It returns the image and its format ("png" or "jpeg").
func Read(name string) (image.Image, string, error) {
	var r io.Reader = os.Stdin
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, "", err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("not a PNG or JPEG image: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, "", fmt.Errorf("image is %dx%d; at most %d pixels are allowed", cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", err
	}
	return img, format, nil
}

// Fit returns the size of a w x h image scaled down to fit in a
// boxW x boxH box with its aspect ratio kept; it never scales up.
func Fit(w, h, boxW, boxH int) (int, int) {
	scale := math.Min(float64(boxW)/float64(w), float64(boxH)/float64(h))
	if scale >= 1 {
		return w, h
	}
	nw := max(1, int(math.Round(float64(w)*scale)))
	nh := max(1, int(math.Round(float64(h)*scale)))
	return min(nw, boxW), min(nh, boxH)
}

// Thumbnail returns src scaled down to fit in a boxW x boxH box (see Fit),
// resampled with the Catmull-Rom kernel.
func Thumbnail(src image.Image, boxW, boxH int) *image.RGBA {
	b := src.Bounds()
	w, h := Fit(b.Dx(), b.Dy(), boxW, boxH)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	return dst
}

// Format normalizes an output format name: "png", "jpeg" (or "jpg"), or ""
// for "the same as the input".
func Format(name string) (string, error) {
	switch strings.ToLower(name) {
	case "":
		return "", nil
	case "png":
		return "png", nil
	case "jpeg", "jpg":
		return "jpeg", nil
	}
	return "", fmt.Errorf("unknown format %q (want png or jpeg)", name)
}

// Write encodes img to stdout as format ("png" or "jpeg", with quality
// 1-100 for JPEG).
func Write(img image.Image, format string, quality int) error {
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
	} else {
		err = png.Encode(w, img)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}
