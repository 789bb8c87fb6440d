package ui

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// instancesPageSize is the instances a list page shows.
const instancesPageSize = 50

var errNoInstances = &userError{status: http.StatusNotFound, msg: "This node runs no instances."}

// instanceXML is one instance as the EC2 face describes it; the dashboard
// reads the same answer the EC2 face sends (its wire format is the
// contract), so it sees exactly what `aws ec2 describe-instances` sees.
type instanceXML struct {
	ID         string `xml:"instanceId"`
	ImageID    string `xml:"imageId"`
	State      string `xml:"instanceState>name"`
	Type       string `xml:"instanceType"`
	KeyName    string `xml:"keyName"`
	LaunchTime string `xml:"launchTime"`
	Zone       string `xml:"placement>availabilityZone"`
	PrivateIP  string `xml:"privateIpAddress"`
	PublicIP   string `xml:"ipAddress"`
	Reason     string `xml:"stateReason>message"`
}

type describeXML struct {
	Reservations []struct {
		Instances []instanceXML `xml:"instancesSet>item"`
	} `xml:"reservationSet>item"`
	NextToken string `xml:"nextToken"`
}

type consoleXML struct {
	Output string `xml:"output"`
}

// decodeEC2 turns an EC2 face answer into v through its XML.
func decodeEC2(resp ec2api.Response, v any) error {
	b, err := xml.Marshal(resp)
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, v)
}

// ec2Error words an EC2 error; a missing instance is 404 like any other
// account's.
func ec2Error(err error) error {
	var e *ec2api.Error
	if !errors.As(err, &e) {
		return err
	}
	status := e.Status
	if strings.Contains(e.Code, "NotFound") {
		status = http.StatusNotFound
	}
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	return &userError{status: status, msg: "The request was refused: " + e.Message}
}

// describe runs DescribeInstances for the caller with p.
func (h *Handler) describe(ctx context.Context, account string, p ec2api.Params) (describeXML, error) {
	var d describeXML
	if h.cfg.Instances == nil {
		return d, errNoInstances
	}
	resp, err := h.cfg.Instances.DescribeInstances(ctx, ec2api.Caller{AccountID: account}, p)
	if err != nil {
		return d, ec2Error(err)
	}
	return d, decodeEC2(resp, &d)
}

// instanceList shows the caller's instances with the launch form.
func (h *Handler) instanceList(c *call) error {
	return h.renderInstances(c, http.StatusOK, "", launchForm{Type: "t3.micro"})
}

// launchForm is the launch form, echoed back when refused.
type launchForm struct{ Image, Type, Key, UserData, Zone string }

func (h *Handler) renderInstances(c *call, status int, msg string, f launchForm) error {
	p := ec2api.Params{"MaxResults": itoa(instancesPageSize)}
	if tok := c.r.URL.Query().Get("next"); tok != "" {
		p["NextToken"] = tok
	}
	d, err := h.describe(c.ctx, c.s.accountID, p)
	if err != nil {
		return err
	}
	var list []instanceXML
	for _, r := range d.Reservations {
		list = append(list, r.Instances...)
	}
	data := struct {
		Instances []instanceXML
		Next      string
		Form      launchForm
	}{list, d.NextToken, f}
	return h.render(c, status, "instances", view{Title: "Instances", Nav: "instances", Error: msg, Data: data})
}

// unixLines turns the CRLF line breaks a browser sends for a textarea
// into LF: user data is a script, and "#!/bin/sh\r" names no shell.
func unixLines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// launchInstance runs one instance from the form.
func (h *Handler) launchInstance(c *call) error {
	if h.cfg.Instances == nil {
		return errNoInstances
	}
	f := launchForm{Image: strings.TrimSpace(c.r.PostFormValue("image")), Type: strings.TrimSpace(c.r.PostFormValue("type")),
		Key: strings.TrimSpace(c.r.PostFormValue("key")), UserData: unixLines(c.r.PostFormValue("user_data")), Zone: strings.TrimSpace(c.r.PostFormValue("zone"))}
	p := ec2api.Params{"ImageId": f.Image, "MinCount": "1", "MaxCount": "1"}
	for k, v := range map[string]string{"InstanceType": f.Type, "KeyName": f.Key, "Placement.AvailabilityZone": f.Zone} {
		if v != "" {
			p[k] = v
		}
	}
	if f.UserData != "" {
		p["UserData"] = base64.StdEncoding.EncodeToString([]byte(f.UserData))
	}
	resp, err := h.cfg.Instances.RunInstances(c.ctx, ec2api.Caller{AccountID: c.s.accountID}, p)
	if err != nil {
		status, msg := h.explain(c, ec2Error(err))
		return h.renderInstances(c, status, msg, f)
	}
	var run struct {
		Instances []instanceXML `xml:"instancesSet>item"`
	}
	if err := decodeEC2(resp, &run); err != nil || len(run.Instances) == 0 {
		return errors.Join(errors.New("ui: RunInstances answered no instance"), err)
	}
	http.Redirect(c.w, c.r, "/ui/instances/"+url.PathEscape(run.Instances[0].ID), http.StatusSeeOther)
	return nil
}
