package stix

import (
	"sort"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// edge is one relationship seen from one of its ends.
type edge struct {
	rel  string // relationship_type, lower-case
	peer string // the other end's id
}

// graph indexes the non-revoked relationships by source and by target.
type graph struct {
	objects map[string]*object
	out     map[string][]edge
	in      map[string][]edge
}

func (c *Converter) graph() *graph {
	g := &graph{objects: c.objects, out: make(map[string][]edge), in: make(map[string][]edge)}
	ids := make([]string, 0, len(c.objects))
	for id, o := range c.objects {
		if o.Type == "relationship" && !o.Revoked {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids) // deterministic context order
	for _, id := range ids {
		o := c.objects[id]
		rt := strings.ToLower(o.RelationshipType)
		g.out[o.SourceRef] = append(g.out[o.SourceRef], edge{rt, o.TargetRef})
		g.in[o.TargetRef] = append(g.in[o.TargetRef], edge{rt, o.SourceRef})
	}
	return g
}

// live returns the non-revoked object id, or nil.
func (g *graph) live(id string) *object {
	o := g.objects[id]
	if o == nil || o.Revoked {
		return nil
	}
	return o
}

// context fills ctx with what the indicator id is related to:
//
//   - indicator -indicates/related-to-> malware, tool, attack-pattern,
//     campaign, intrusion-set, threat-actor (related-to in either direction);
//   - malware/tool <-uses- intrusion-set, threat-actor, campaign; and
//     malware -attributed-to/authored-by-> intrusion-set, threat-actor;
//   - campaign/intrusion-set -attributed-to-> intrusion-set, threat-actor
//     (followed transitively).
//
// Tools are followed but not listed (Context has no tool list).
func (g *graph) context(id string, ctx *ioc.Context) {
	seen := map[string]bool{id: true}
	var queue []string
	add := func(peer string) {
		if !seen[peer] {
			seen[peer] = true
			queue = append(queue, peer)
		}
	}
	for _, e := range g.out[id] {
		if e.rel == "indicates" || e.rel == "related-to" {
			add(e.peer)
		}
	}
	for _, e := range g.in[id] {
		if e.rel == "related-to" {
			add(e.peer)
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		o := g.live(pid)
		if o == nil {
			continue
		}
		switch o.Type {
		case "malware", "tool":
			if o.Type == "malware" && o.Name != "" {
				ctx.Malware = append(ctx.Malware, o.Name)
			}
			for _, e := range g.in[pid] {
				if e.rel == "uses" && isGroup(g.live(e.peer)) {
					add(e.peer)
				}
			}
			for _, e := range g.out[pid] {
				if (e.rel == "attributed-to" || e.rel == "authored-by") && isGroup(g.live(e.peer)) {
					add(e.peer)
				}
			}
		case "campaign", "intrusion-set", "threat-actor":
			if o.Name != "" {
				switch o.Type {
				case "campaign":
					ctx.Campaigns = append(ctx.Campaigns, o.Name)
				case "intrusion-set":
					ctx.IntrusionSets = append(ctx.IntrusionSets, o.Name)
				default:
					ctx.ThreatActors = append(ctx.ThreatActors, o.Name)
				}
			}
			for _, e := range g.out[pid] {
				if e.rel == "attributed-to" && isGroup(g.live(e.peer)) {
					add(e.peer)
				}
			}
		case "attack-pattern":
			if t, ok := technique(o); ok {
				ctx.Techniques = append(ctx.Techniques, t)
			}
		}
	}
	ctx.Malware = uniq(ctx.Malware)
	ctx.Campaigns = uniq(ctx.Campaigns)
	ctx.IntrusionSets = uniq(ctx.IntrusionSets)
	ctx.ThreatActors = uniq(ctx.ThreatActors)
}

func isGroup(o *object) bool {
	return o != nil && (o.Type == "intrusion-set" || o.Type == "threat-actor" || o.Type == "campaign")
}

// technique returns the ATT&CK technique of an attack pattern: the
// external id of its "mitre-attack" (or mitre-mobile-attack,
// mitre-ics-attack) reference.
func technique(o *object) (ioc.Technique, bool) {
	for _, r := range o.ExternalReferences {
		if strings.HasPrefix(r.SourceName, "mitre-") && strings.HasSuffix(r.SourceName, "attack") && r.ExternalID != "" {
			return ioc.Technique{ID: r.ExternalID, Name: o.Name}, true
		}
	}
	return ioc.Technique{}, false
}
