package longhornsim

import "github.com/drplan/drplan/internal/longhorn"

// robustness is the volume's robustness from its simulated replicas (REFERENCE §1.2): every
// wanted replica RW is healthy, some is degraded, none is faulted. A detached volume's
// robustness is unknown unless faulted (closeVolumeDependentResources).
func robustness(wanted, failed int, attached bool) longhorn.VolumeRobustness {
	wanted = max(wanted, 1)
	rw := wanted - failed
	switch {
	case rw <= 0:
		return longhorn.VolumeRobustnessFaulted
	case !attached:
		return longhorn.VolumeRobustnessUnknown
	case rw < wanted:
		return longhorn.VolumeRobustnessDegraded
	default:
		return longhorn.VolumeRobustnessHealthy
	}
}

// replicaModes are the engine's replica modes: wanted replicas, the last failed of them ERR.
func replicaModes(volume string, wanted, failed int) map[string]string {
	wanted = max(wanted, 1)
	modes := make(map[string]string, wanted)
	for i := range wanted {
		mode := longhorn.ReplicaModeRW
		if i >= wanted-failed {
			mode = longhorn.ReplicaModeERR
		}
		modes[replicaName(volume, i)] = mode
	}
	return modes
}
