package ec2api

import (
	"sort"
	"strconv"
)

// InstanceType is one row of the instance type table.
type InstanceType struct {
	Name      string
	VCPUs     int
	MemoryMiB int
}

// InstanceTypes returns the table DescribeInstanceTypes publishes (EC2's
// names and sizes), smallest first. The caller owns the returned slice.
func InstanceTypes() []InstanceType {
	return []InstanceType{
		{"t3.nano", 2, 512},
		{"t3.micro", 2, 1024},
		{"t3.small", 2, 2048},
		{"t3.medium", 2, 4096},
		{"t3.large", 2, 8192},
	}
}

// LookupInstanceType finds a type by name.
func LookupInstanceType(name string) (InstanceType, bool) {
	for _, t := range InstanceTypes() {
		if t.Name == name {
			return t, true
		}
	}
	return InstanceType{}, false
}

type instanceTypeItem struct {
	InstanceType      string   `xml:"instanceType"`
	CurrentGeneration bool     `xml:"currentGeneration"`
	Hypervisor        string   `xml:"hypervisor"`
	Architectures     []string `xml:"processorInfo>supportedArchitectures>item"`
	VCPUs             int      `xml:"vCpuInfo>defaultVCpus"`
	Cores             int      `xml:"vCpuInfo>defaultCores"`
	Threads           int      `xml:"vCpuInfo>defaultThreadsPerCore"`
	MemoryMiB         int      `xml:"memoryInfo>sizeInMiB"`
}

type describeInstanceTypesResp struct {
	Meta
	Types     []instanceTypeItem `xml:"instanceTypeSet>item"`
	NextToken string             `xml:"nextToken,omitempty"`
}

// describeInstanceTypes publishes the table; InstanceType.N narrows it
// (an unknown name is InvalidInstanceType), and so do the instance-type,
// vcpu-info.default-vcpus and memory-info.size-in-mib filters.
func (h *Handler) describeInstanceTypes(c *call) (Response, error) {
	names, err := c.p.List("InstanceType")
	if err != nil {
		return nil, err
	}
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := knownFilters(filters, typeFields(InstanceType{})); err != nil {
		return nil, err
	}
	pg, err := c.p.page(5, 100)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := LookupInstanceType(n); !ok {
			return nil, badRequest("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", n)
		}
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	var items []instanceTypeItem
	for _, t := range InstanceTypes() {
		if len(names) > 0 && !contains(names, t.Name) {
			continue
		}
		ok, err := applies(filters, typeFields(t), nil)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, instanceTypeItem{InstanceType: t.Name, CurrentGeneration: true, Hypervisor: "qemu",
				Architectures: []string{"x86_64"}, VCPUs: t.VCPUs, Cores: t.VCPUs / 2, Threads: 2, MemoryMiB: t.MemoryMiB})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].InstanceType < items[j].InstanceType })
	resp := &describeInstanceTypesResp{}
	resp.Types, resp.NextToken = pageOf(items, pg, func(i instanceTypeItem) string { return i.InstanceType })
	return resp, nil
}

func typeFields(t InstanceType) fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "instance-type":
			return []string{t.Name}, true
		case "vcpu-info.default-vcpus":
			return []string{strconv.Itoa(t.VCPUs)}, true
		case "memory-info.size-in-mib":
			return []string{strconv.Itoa(t.MemoryMiB)}, true
		case "current-generation":
			return []string{"true"}, true
		}
		return nil, false
	}
}
