package ec2api

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is one ingress permission of a security group: a protocol ("tcp",
// "udp", "icmp" or "-1" for all), a port range (ICMP: type and code; -1
// for all) and one IPv4 CIDR.
type Rule struct {
	Protocol    string `json:"proto"`
	FromPort    int    `json:"from"`
	ToPort      int    `json:"to"`
	CIDR        string `json:"cidr"`
	Description string `json:"desc,omitempty"`
}

// same reports whether r and o allow the same traffic (descriptions aside).
func (r Rule) same(o Rule) bool {
	return r.Protocol == o.Protocol && r.FromPort == o.FromPort && r.ToPort == o.ToPort && r.CIDR == o.CIDR
}

func (r Rule) String() string {
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", r.CIDR, strings.ToUpper(r.Protocol), r.FromPort, r.ToPort)
}

var protocols = map[string]string{"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp", "-1": "-1", "all": "-1"}

// Rules parses IpPermissions.N.{IpProtocol,FromPort,ToPort,
// IpRanges.M.CidrIp,IpRanges.M.Description}, or the older top-level
// IpProtocol/FromPort/ToPort/CidrIp, into one Rule per CIDR.
func (p Params) Rules() ([]Rule, error) {
	idx, err := p.Indexes("IpPermissions")
	if err != nil {
		return nil, err
	}
	if len(idx) == 0 {
		if _, ok := p["IpProtocol"]; !ok {
			return nil, errMissing("IpPermissions")
		}
		r, err := p.rule("", "CidrIp", "")
		return []Rule{r}, err
	}
	var out []Rule
	for _, i := range idx {
		pre := "IpPermissions." + strconv.Itoa(i) + "."
		ranges, err := p.Indexes(pre + "IpRanges")
		if err != nil {
			return nil, err
		}
		if len(ranges) == 0 {
			return nil, errInvalid("%sIpRanges is required: only IPv4 CIDR ranges are supported as peers.", pre)
		}
		for _, m := range ranges {
			rp := pre + "IpRanges." + strconv.Itoa(m) + "."
			r, err := p.rule(pre, rp+"CidrIp", rp+"Description")
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// rule reads one permission: protocol and ports under pre, the CIDR and
// description at the given names.
func (p Params) rule(pre, cidrName, descName string) (Rule, error) {
	raw, err := p.Required(pre + "IpProtocol")
	if err != nil {
		return Rule{}, err
	}
	proto, ok := protocols[strings.ToLower(raw)]
	if !ok {
		return Rule{}, errInvalid("Invalid value '%s' for IP protocol. Unknown protocol.", raw)
	}
	r := Rule{Protocol: proto, FromPort: -1, ToPort: -1, Description: p[descName]}
	if proto != "-1" {
		lo, hi := 0, 65535
		if proto == "icmp" {
			lo, hi = -1, 255
		}
		if r.FromPort, err = p.Int(pre+"FromPort", -2, lo, hi); err != nil {
			return Rule{}, err
		}
		if r.ToPort, err = p.Int(pre+"ToPort", -2, lo, hi); err != nil {
			return Rule{}, err
		}
		if r.FromPort == -2 || r.ToPort == -2 {
			return Rule{}, errMissing(pre + "FromPort and " + pre + "ToPort")
		}
		if proto != "icmp" && r.FromPort > r.ToPort {
			return Rule{}, errInvalid("Invalid port range %d-%d: FromPort must not exceed ToPort.", r.FromPort, r.ToPort)
		}
	}
	cidr, err := p.Required(cidrName)
	if err != nil {
		return Rule{}, err
	}
	pfx, perr := netip.ParsePrefix(cidr)
	if perr != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
		return Rule{}, errInvalid("CIDR block %s is malformed", cidr)
	}
	r.CIDR = pfx.String()
	return r, nil
}

type ipRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type ipPermission struct {
	Protocol string    `xml:"ipProtocol"`
	FromPort *int      `xml:"fromPort,omitempty"`
	ToPort   *int      `xml:"toPort,omitempty"`
	Ranges   []ipRange `xml:"ipRanges>item"`
}

// permissions groups rules by protocol and ports, in first-seen order,
// as EC2 reports them.
func permissions(rules []Rule) []ipPermission {
	var out []ipPermission
	at := map[[3]string]int{}
	for _, r := range rules {
		k := [3]string{r.Protocol, strconv.Itoa(r.FromPort), strconv.Itoa(r.ToPort)}
		i, ok := at[k]
		if !ok {
			p := ipPermission{Protocol: r.Protocol}
			if r.Protocol != "-1" {
				from, to := r.FromPort, r.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			i = len(out)
			at[k] = i
			out = append(out, p)
		}
		out[i].Ranges = append(out[i].Ranges, ipRange{CidrIP: r.CIDR, Description: r.Description})
	}
	return out
}
