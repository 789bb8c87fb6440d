package ec2api

import (
	"bytes"
	"encoding/xml"
	"net/http"
)

// Namespace is the XML namespace of every response (API version
// 2016-11-15, the one the aws CLI and SDKs speak).
const Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Response is what an action answers. Every response type embeds Meta
// (types of other packages can too); the Handler fills it in and writes
// the value as <ACTIONResponse xmlns="..."> with its fields inside.
type Response interface{ setMeta(requestID string) }

// Meta carries the namespace and requestId of every response.
type Meta struct {
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

func (m *Meta) setMeta(id string) { m.Xmlns, m.RequestID = Namespace, id }

// returnResp is the answer of actions that only say they succeeded.
type returnResp struct {
	Meta
	Return bool `xml:"return"`
}

// writeResponse writes v as <ACTIONResponse xmlns=...>.
func writeResponse(w http.ResponseWriter, action, reqID string, v Response) error {
	v.setMeta(reqID)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: action + "Response"}}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, err := w.Write(buf.Bytes())
	return err
}
