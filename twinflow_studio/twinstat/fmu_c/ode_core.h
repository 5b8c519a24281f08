/* What the FMI 2.0 and 3.0 wrappers (fmi2_model.c, fmi3_model.c) do alike with the model of
 * "model.h": the Float64 variables r[N_REALS] (value reference = index), the states and
 * their derivatives, and a co-simulation step of classic RK4 sub-steps of at most
 * MAX_SUBSTEP. Each function returns 0, or -1 for a request the model cannot serve; the
 * wrappers turn that into their own status type. */
#ifndef TWINFLOW_ODE_CORE_H
#define TWINFLOW_ODE_CORE_H

#include <math.h>
#include <stddef.h>

static int ode_set_reals(double *r, const unsigned int vr[], const double v[], size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (vr[i] >= N_REALS) return -1;
        r[vr[i]] = v[i];
    }
    return 0;
}

static int ode_set_states(double *r, const double x[], size_t n) {
    if (n != N_STATES) return -1;
    for (size_t i = 0; i < n; i++) r[STATE_VR[i]] = x[i];
    return 0;
}

static int ode_get_states(const double *r, double x[], size_t n) {
    if (n != N_STATES) return -1;
    for (size_t i = 0; i < n; i++) x[i] = r[STATE_VR[i]];
    return 0;
}

static int ode_get_derivatives(double t, double *r, double dx[], size_t n) {
    if (n != N_STATES) return -1;
    model_update(t, r);
    for (size_t i = 0; i < n; i++) dx[i] = r[DER_VR[i]];
    return 0;
}

static void ode_nominals(double x[], size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 1.0;
}

static void ode_derivatives_at(double *r, double t, const double *x, double *dx) {
    for (int i = 0; i < N_STATES; i++) r[STATE_VR[i]] = x[i];
    model_update(t, r);
    for (int i = 0; i < N_STATES; i++) dx[i] = r[DER_VR[i]];
}

/* Integrate r's states from t0 over h; r then holds the states and outputs at t0 + h. */
static void ode_do_step(double *r, double t0, double h) {
    int n_sub = (int)ceil(h / MAX_SUBSTEP - 1e-9);
    if (n_sub < 1) n_sub = 1;
    double dt = h / n_sub, t = t0;
    double x[N_STATES], k1[N_STATES], k2[N_STATES], k3[N_STATES], k4[N_STATES], y[N_STATES];
    for (int i = 0; i < N_STATES; i++) x[i] = r[STATE_VR[i]];
    for (int s = 0; s < n_sub; s++) {
        ode_derivatives_at(r, t, x, k1);
        for (int i = 0; i < N_STATES; i++) y[i] = x[i] + 0.5 * dt * k1[i];
        ode_derivatives_at(r, t + 0.5 * dt, y, k2);
        for (int i = 0; i < N_STATES; i++) y[i] = x[i] + 0.5 * dt * k2[i];
        ode_derivatives_at(r, t + 0.5 * dt, y, k3);
        for (int i = 0; i < N_STATES; i++) y[i] = x[i] + dt * k3[i];
        ode_derivatives_at(r, t + dt, y, k4);
        for (int i = 0; i < N_STATES; i++)
            x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        t += dt;
    }
    for (int i = 0; i < N_STATES; i++) r[STATE_VR[i]] = x[i];
    model_update(t0 + h, r);
}

#endif
