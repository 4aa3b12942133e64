package loader

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Credential is the user the traced command runs as and output files
// belong to.
type Credential struct {
	Name     string
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// ResolveUser says whom the command runs as: the user named by --user when
// name is set; otherwise, when tracer runs as root under sudo, the invoking
// user (SUDO_UID, SUDO_GID); otherwise nil, meaning tracer's own identity.
func ResolveUser(name string) (*Credential, error) {
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			if _, nerr := strconv.Atoi(name); nerr == nil {
				u, err = user.LookupId(name)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("unknown user %q: give an existing user name or uid to --user", name)
		}
		return credentialOf(u)
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}
	uid, err1 := strconv.ParseUint(os.Getenv("SUDO_UID"), 10, 32)
	gid, err2 := strconv.ParseUint(os.Getenv("SUDO_GID"), 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, nil
	}
	c := &Credential{UID: uint32(uid), GID: uint32(gid), Name: os.Getenv("SUDO_USER")}
	if u, err := user.LookupId(strconv.FormatUint(uid, 10)); err == nil {
		c.Groups = groupsOf(u)
		c.Home = u.HomeDir
		c.Name = u.Username
	}
	return c, nil
}

func credentialOf(u *user.User) (*Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	return &Credential{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Groups: groupsOf(u), Home: u.HomeDir}, nil
}

func groupsOf(u *user.User) []uint32 {
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var gs []uint32
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			gs = append(gs, uint32(g))
		}
	}
	return gs
}

// Chown gives path to c's user; nil c leaves it alone.
func (c *Credential) Chown(path string) error {
	if c == nil {
		return nil
	}
	if err := os.Chown(path, int(c.UID), int(c.GID)); err != nil {
		return fmt.Errorf("give %s to user %s: %w", path, c.Name, err)
	}
	return nil
}

// shimValue encodes c for the exec shim: "UID:GID:G1,G2", or "1" for nil.
func (c *Credential) shimValue() string {
	if c == nil {
		return "1"
	}
	gs := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		gs[i] = strconv.FormatUint(uint64(g), 10)
	}
	return fmt.Sprintf("%d:%d:%s", c.UID, c.GID, strings.Join(gs, ","))
}

// userEnv sets HOME, USER and LOGNAME in env to c's (sudo leaves root's
// HOME); nil c leaves env as it is.
func (c *Credential) userEnv(env []string) []string {
	if c == nil {
		return env
	}
	set := map[string]string{"USER": c.Name, "LOGNAME": c.Name, "HOME": c.Home}
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok && v != "" {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME"} {
		if set[k] != "" {
			out = append(out, k+"="+set[k])
		}
	}
	return out
}
