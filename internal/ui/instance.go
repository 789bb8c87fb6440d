package ui

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// ownInstance describes the caller's instance id; another account's (or a
// malformed id) is 404.
func (h *Handler) ownInstance(ctx context.Context, account, id string) (instanceXML, error) {
	d, err := h.describe(ctx, account, ec2api.Params{"InstanceId.1": id})
	if err != nil {
		return instanceXML{}, err
	}
	for _, r := range d.Reservations {
		for _, in := range r.Instances {
			if in.ID == id {
				return in, nil
			}
		}
	}
	return instanceXML{}, &userError{status: http.StatusNotFound, msg: "You have no instance with that id."}
}

// instanceDetail shows one instance, its actions and its console output.
func (h *Handler) instanceDetail(c *call) error {
	in, err := h.ownInstance(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	console := ""
	resp, err := h.cfg.Instances.GetConsoleOutput(c.ctx, ec2api.Caller{AccountID: c.s.accountID}, ec2api.Params{"InstanceId": in.ID})
	if err == nil {
		var out consoleXML
		if decodeEC2(resp, &out) == nil {
			b, _ := base64.StdEncoding.DecodeString(out.Output)
			console = string(b)
		}
	}
	data := struct {
		Instance instanceXML
		Console  string
	}{in, console}
	return h.render(c, http.StatusOK, "instance", view{Title: "Instance " + in.ID, Nav: "instances", Data: data,
		Notice: c.r.URL.Query().Get("done")})
}

// ec2Action is an EC2 instance call.
type ec2Action func(context.Context, ec2api.Caller, ec2api.Params) (ec2api.Response, error)

// actionOf is the call behind an instance page's button (nil: none).
func actionOf(in ec2api.Instances, name string) ec2Action {
	switch name {
	case "stop":
		return in.StopInstances
	case "start":
		return in.StartInstances
	case "reboot":
		return in.RebootInstances
	case "terminate":
		return in.TerminateInstances
	}
	return nil
}

// instanceAction stops, starts, reboots or terminates the caller's
// instance, as the EC2 face's action of that name does.
func (h *Handler) instanceAction(c *call) error {
	in, err := h.ownInstance(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	act := actionOf(h.cfg.Instances, c.r.PathValue("action"))
	if act == nil {
		return &userError{status: http.StatusNotFound, msg: "There is no such instance action."}
	}
	if _, err := act(c.ctx, ec2api.Caller{AccountID: c.s.accountID}, ec2api.Params{"InstanceId.1": in.ID}); err != nil {
		return ec2Error(err)
	}
	done := "Asked to " + c.r.PathValue("action") + " the instance."
	http.Redirect(c.w, c.r, "/ui/instances/"+url.PathEscape(in.ID)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}
