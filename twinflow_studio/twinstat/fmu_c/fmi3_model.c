/* The FMI 3.0 wrapper (model exchange and co-simulation) around the same "model.h" as
 * fmi2_model.c: N_REALS Float64 variables with value references 0..N_REALS-1, states and
 * derivatives, model_update(t, r). Only the functions a simulation needs are exported;
 * other types than Float64, clocks and FMU states are not offered. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fmi3Functions.h"
#include "model.h"
#include "ode_core.h"

typedef struct {
    double r[N_REALS];
    double time;
} Instance;

static void reset_values(Instance *m) {
    memcpy(m->r, START, sizeof(START));
    m->time = 0.0;
}

static fmi3Instance instantiate(fmi3String token) {
    if (token == NULL || strcmp(token, MODEL_GUID) != 0) return NULL;
    Instance *m = (Instance *)calloc(1, sizeof(Instance));
    if (m != NULL) reset_values(m);
    return m;
}

const char *fmi3GetVersion(void) { return fmi3Version; }
fmi3Status fmi3SetDebugLogging(fmi3Instance c, fmi3Boolean on, size_t n, const fmi3String cats[]) {
    (void)c; (void)on; (void)n; (void)cats; return fmi3OK;
}
fmi3Instance fmi3InstantiateModelExchange(fmi3String name, fmi3String token, fmi3String res,
                                          fmi3Boolean visible, fmi3Boolean logging,
                                          fmi3InstanceEnvironment env, fmi3LogMessageCallback log) {
    (void)name; (void)res; (void)visible; (void)logging; (void)env; (void)log;
    return instantiate(token);
}
fmi3Instance fmi3InstantiateCoSimulation(fmi3String name, fmi3String token, fmi3String res,
                                         fmi3Boolean visible, fmi3Boolean logging,
                                         fmi3Boolean eventMode, fmi3Boolean earlyReturn,
                                         const fmi3ValueReference req[], size_t nReq,
                                         fmi3InstanceEnvironment env, fmi3LogMessageCallback log,
                                         fmi3IntermediateUpdateCallback update) {
    (void)name; (void)res; (void)visible; (void)logging; (void)eventMode; (void)earlyReturn;
    (void)req; (void)nReq; (void)env; (void)log; (void)update;
    return instantiate(token);
}
void fmi3FreeInstance(fmi3Instance c) { free(c); }

fmi3Status fmi3EnterInitializationMode(fmi3Instance c, fmi3Boolean tolDefined, fmi3Float64 tol,
                                       fmi3Float64 start, fmi3Boolean stopDefined,
                                       fmi3Float64 stop) {
    (void)tolDefined; (void)tol; (void)stopDefined; (void)stop;
    ((Instance *)c)->time = start;
    return fmi3OK;
}
fmi3Status fmi3ExitInitializationMode(fmi3Instance c) {
    Instance *m = (Instance *)c;
    model_update(m->time, m->r);
    return fmi3OK;
}
fmi3Status fmi3EnterEventMode(fmi3Instance c) { (void)c; return fmi3OK; }
fmi3Status fmi3Terminate(fmi3Instance c) { (void)c; return fmi3OK; }
fmi3Status fmi3Reset(fmi3Instance c) { reset_values((Instance *)c); return fmi3OK; }

fmi3Status fmi3GetFloat64(fmi3Instance c, const fmi3ValueReference vr[], size_t n,
                          fmi3Float64 v[], size_t nv) {
    Instance *m = (Instance *)c;
    if (nv < n) return fmi3Error;
    model_update(m->time, m->r);
    for (size_t i = 0; i < n; i++) {
        if (vr[i] == TIME_VR) { v[i] = m->time; continue; }
        if (vr[i] >= N_REALS) return fmi3Error;
        v[i] = m->r[vr[i]];
    }
    return fmi3OK;
}
fmi3Status fmi3SetFloat64(fmi3Instance c, const fmi3ValueReference vr[], size_t n,
                          const fmi3Float64 v[], size_t nv) {
    if (nv < n) return fmi3Error;
    return ode_set_reals(((Instance *)c)->r, vr, v, n) ? fmi3Error : fmi3OK;
}

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance c, fmi3Boolean *update, fmi3Boolean *terminate,
                                    fmi3Boolean *nominalsChanged, fmi3Boolean *valuesChanged,
                                    fmi3Boolean *nextDefined, fmi3Float64 *next) {
    (void)c;
    *update = fmi3False;
    *terminate = fmi3False;
    *nominalsChanged = fmi3False;
    *valuesChanged = fmi3False;
    *nextDefined = fmi3False;
    *next = 0.0;
    return fmi3OK;
}

/* ---- model exchange ---- */
fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance c) { (void)c; return fmi3OK; }
fmi3Status fmi3CompletedIntegratorStep(fmi3Instance c, fmi3Boolean noSetPrior,
                                       fmi3Boolean *enterEvent, fmi3Boolean *terminate) {
    (void)c; (void)noSetPrior;
    *enterEvent = fmi3False;
    *terminate = fmi3False;
    return fmi3OK;
}
fmi3Status fmi3SetTime(fmi3Instance c, fmi3Float64 t) { ((Instance *)c)->time = t; return fmi3OK; }
fmi3Status fmi3SetContinuousStates(fmi3Instance c, const fmi3Float64 x[], size_t n) {
    return ode_set_states(((Instance *)c)->r, x, n) ? fmi3Error : fmi3OK;
}
fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance c, fmi3Float64 dx[], size_t n) {
    Instance *m = (Instance *)c;
    return ode_get_derivatives(m->time, m->r, dx, n) ? fmi3Error : fmi3OK;
}
fmi3Status fmi3GetEventIndicators(fmi3Instance c, fmi3Float64 z[], size_t n) {
    (void)c; (void)z; return n == 0 ? fmi3OK : fmi3Error;
}
fmi3Status fmi3GetContinuousStates(fmi3Instance c, fmi3Float64 x[], size_t n) {
    return ode_get_states(((Instance *)c)->r, x, n) ? fmi3Error : fmi3OK;
}
fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance c, fmi3Float64 x[], size_t n) {
    (void)c;
    ode_nominals(x, n);
    return fmi3OK;
}
fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance c, size_t *n) {
    (void)c; *n = 0; return fmi3OK;
}
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance c, size_t *n) {
    (void)c; *n = N_STATES; return fmi3OK;
}

/* ---- co-simulation ---- */
fmi3Status fmi3EnterStepMode(fmi3Instance c) { (void)c; return fmi3OK; }

fmi3Status fmi3DoStep(fmi3Instance c, fmi3Float64 t0, fmi3Float64 h, fmi3Boolean noSetPrior,
                      fmi3Boolean *eventNeeded, fmi3Boolean *terminate, fmi3Boolean *early,
                      fmi3Float64 *lastTime) {
    (void)noSetPrior;
    Instance *m = (Instance *)c;
    ode_do_step(m->r, t0, h);
    m->time = t0 + h;
    *eventNeeded = fmi3False;
    *terminate = fmi3False;
    *early = fmi3False;
    *lastTime = m->time;
    return fmi3OK;
}
