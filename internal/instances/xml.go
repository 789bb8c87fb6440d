package instances

import (
	"sort"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// The response shapes of the instance actions (EC2's element names, as
// aws-sdk-go-v2's ec2 deserializers read them).

type stateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateOf(name string) stateXML { return stateXML{Code: stateCodes[name], Name: name} }

type groupXML struct {
	GroupID string `xml:"groupId"`
}

type reasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type instanceXML struct {
	InstanceID     string       `xml:"instanceId"`
	ImageID        string       `xml:"imageId"`
	State          stateXML     `xml:"instanceState"`
	PrivateDNSName string       `xml:"privateDnsName"`
	DNSName        string       `xml:"dnsName"`
	Reason         string       `xml:"reason"`
	KeyName        string       `xml:"keyName,omitempty"`
	LaunchIndex    int          `xml:"amiLaunchIndex"`
	InstanceType   string       `xml:"instanceType"`
	LaunchTime     string       `xml:"launchTime"`
	Zone           string       `xml:"placement>availabilityZone"`
	Monitoring     string       `xml:"monitoring>state"`
	PrivateIP      string       `xml:"privateIpAddress,omitempty"`
	PublicIP       string       `xml:"ipAddress,omitempty"`
	Groups         []groupXML   `xml:"groupSet>item"`
	StateReason    *reasonXML   `xml:"stateReason,omitempty"`
	Architecture   string       `xml:"architecture"`
	RootDevice     string       `xml:"rootDeviceType"`
	Virtualization string       `xml:"virtualizationType"`
	ClientToken    string       `xml:"clientToken,omitempty"`
	Tags           []ec2api.Tag `xml:"tagSet>item,omitempty"`
	Cores          int          `xml:"cpuOptions>coreCount"`
	Threads        int          `xml:"cpuOptions>threadsPerCore"`
}

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []groupXML    `xml:"groupSet>item"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

type runResp struct {
	ec2api.Meta
	reservationXML
	want int // a token replay: the instances the reservation has
}

type describeResp struct {
	ec2api.Meta
	Reservations []reservationXML `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type changeXML struct {
	InstanceID string   `xml:"instanceId"`
	Current    stateXML `xml:"currentState"`
	Previous   stateXML `xml:"previousState"`
}

// changeResp answers StopInstances, StartInstances and TerminateInstances.
type changeResp struct {
	ec2api.Meta
	Instances []changeXML `xml:"instancesSet>item"`
}

type returnResp struct {
	ec2api.Meta
	Return bool `xml:"return"`
}

type detailXML struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type statusXML struct {
	Status  string      `xml:"status"`
	Details []detailXML `xml:"details>item"`
}

type instanceStatusXML struct {
	InstanceID     string    `xml:"instanceId"`
	Zone           string    `xml:"availabilityZone"`
	State          stateXML  `xml:"instanceState"`
	SystemStatus   statusXML `xml:"systemStatus"`
	InstanceStatus statusXML `xml:"instanceStatus"`
}

type statusResp struct {
	ec2api.Meta
	Statuses  []instanceStatusXML `xml:"instanceStatusSet>item"`
	NextToken string              `xml:"nextToken,omitempty"`
}

type consoleResp struct {
	ec2api.Meta
	InstanceID string `xml:"instanceId"`
	Timestamp  string `xml:"timestamp"`
	Output     string `xml:"output"`
}

// timeXML is EC2's time format.
func timeXML(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// instanceOf is the item of a record in every instance listing.
func instanceOf(r Record, tags map[string]string, reason *reasonXML) instanceXML {
	x := instanceXML{InstanceID: r.ID, ImageID: r.ImageID, State: stateOf(r.State), KeyName: r.KeyName,
		LaunchIndex: r.LaunchIndex, InstanceType: r.Type, LaunchTime: timeXML(r.LaunchTime), Zone: r.Zone,
		Monitoring: "disabled", Architecture: "x86_64", RootDevice: "instance-store", Virtualization: "hvm",
		ClientToken: r.ClientToken, Tags: tagList(tags), Cores: max(r.VCPUs/2, 1), Threads: min(r.VCPUs, 2),
		StateReason: reason}
	if r.State != Terminated {
		x.PrivateIP, x.PublicIP, x.PrivateDNSName, x.DNSName = r.IP, r.IP, r.IP, r.IP
	}
	for _, g := range r.Groups {
		x.Groups = append(x.Groups, groupXML{GroupID: g})
	}
	if reason == nil && r.Reason != "" {
		x.StateReason = &reasonXML{Code: r.Reason, Message: r.ReasonMsg}
	}
	if x.StateReason != nil {
		x.Reason = x.StateReason.Message
	}
	return x
}

// tagList is tags in key order, as responses list them.
func tagList(tags map[string]string) []ec2api.Tag {
	out := make([]ec2api.Tag, 0, len(tags))
	for k, v := range tags {
		out = append(out, ec2api.Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
