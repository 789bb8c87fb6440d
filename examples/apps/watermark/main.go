// Command watermark stamps a line of text onto the bottom-right corner of a
// PNG or JPEG image, semi-transparent, and writes the image out.
//
//	watermark [-opacity O] [-height PX] [-format png|jpeg] [-quality Q] [TEXT] [FILE]
//
// The image is read from FILE (for example /in/photo.png) or stdin and
// written to stdout in the input's format unless -format says otherwise.
// TEXT defaults to $TEXT, then "insitu". The text is drawn in white over a
// dark shadow with the built-in 7x13 bitmap font, scaled by a whole factor
// so that it is about -height pixels tall (default: a twentieth of the
// image height).
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/insitu-cloud/insitu/examples/apps/internal/imageio"
	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// textMask renders text with the 7x13 font into an alpha mask scaled up
// k times.
func textMask(text string, k int) *image.Alpha {
	face := basicfont.Face7x13
	w := font.MeasureString(face, text).Ceil()
	small := image.NewAlpha(image.Rect(0, 0, w, face.Height))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(text)
	if k == 1 {
		return small
	}
	big := image.NewAlpha(image.Rect(0, 0, w*k, face.Height*k))
	draw.NearestNeighbor.Scale(big, big.Bounds(), small, small.Bounds(), draw.Src, nil)
	return big
}

// Stamp draws text onto img's bottom-right corner and returns the result.
// height is the wanted text height in pixels (0: automatic) and opacity is
// between 0 and 1.
func Stamp(img image.Image, text string, height int, opacity float64) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)
	if text == "" {
		return out
	}

	face := basicfont.Face7x13
	if height <= 0 {
		height = b.Dy() / 20
	}
	margin := max(2, b.Dy()/50)
	k := max(1, height/face.Height)
	// Shrink the text if it would not fit across the image.
	textW := font.MeasureString(face, text).Ceil()
	for k > 1 && textW*k+2*margin > b.Dx() {
		k--
	}
	mask := textMask(text, k)
	mw, mh := mask.Bounds().Dx(), mask.Bounds().Dy()
	shadow := max(1, k/2) // shadow offset, so light backgrounds stay readable

	at := image.Pt(b.Max.X-margin-mw-shadow, b.Max.Y-margin-mh-shadow)
	a := uint8(opacity*255 + 0.5)
	dark := image.NewUniform(color.NRGBA{0, 0, 0, a})
	light := image.NewUniform(color.NRGBA{255, 255, 255, a})
	r := image.Rectangle{Min: at, Max: at.Add(image.Pt(mw, mh))}
	draw.DrawMask(out, r.Add(image.Pt(shadow, shadow)), dark, image.Point{}, mask, image.Point{}, draw.Over)
	draw.DrawMask(out, r, light, image.Point{}, mask, image.Point{}, draw.Over)
	return out
}

func main() {
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "watermark: "+format+"\n", a...)
		os.Exit(1)
	}
	opacity := flag.Float64("opacity", 0.5, "opacity of the text, 0 to 1")
	height := flag.Int("height", 0, "text height in pixels (default: image height / 20)")
	format := flag.String("format", "", "output format: png or jpeg (default: as the input)")
	quality := flag.Int("quality", 90, "JPEG quality, 1-100")
	flag.Parse()
	if *opacity < 0 || *opacity > 1 {
		fail("opacity must be between 0 and 1")
	}
	if *quality < 1 || *quality > 100 {
		fail("quality must be 1 to 100")
	}
	outFormat, err := imageio.Format(*format)
	if err != nil {
		fail("%v", err)
	}

	text, name := os.Getenv("TEXT"), ""
	if text == "" {
		text = "insitu"
	}
	switch args := flag.Args(); len(args) {
	case 0:
	case 1:
		text = args[0]
	case 2:
		text, name = args[0], args[1]
	default:
		fail("usage: watermark [flags] [TEXT] [FILE]")
	}

	img, inFormat, err := imageio.Read(name)
	if err != nil {
		fail("%v", err)
	}
	if outFormat == "" {
		outFormat = inFormat
	}
	if err := imageio.Write(Stamp(img, text, *height, *opacity), outFormat, *quality); err != nil {
		fail("%v", err)
	}
}
