/* Three rollers of a web-handling line, coupled by the web (a spring of stiffness k_web).
 * The drive force F acts on roller 1; each roller loses speed to its bearing damping:
 * c_drive on the driven roller, c_idle on the two idlers. The equations are the body of
 * model_update(t, r); each variable is a macro of its name, der(x) is der_x. */
    tension_12 = k_web * (x1 - x2);
    tension_23 = k_web * (x2 - x3);
    der_x1 = v1;
    der_x2 = v2;
    der_x3 = v3;
    der_v1 = (F - c_drive * v1 - tension_12) / m;
    der_v2 = (tension_12 - tension_23 - c_idle * v2) / m;
    der_v3 = (tension_23 - c_idle * v3) / m;
