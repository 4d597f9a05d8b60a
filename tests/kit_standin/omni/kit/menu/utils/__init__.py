"""Test-only stand-in for omni.kit.menu.utils (add_menu_items / remove_menu_items / MenuItemDescription)."""

from dataclasses import dataclass, field
from typing import Callable

MENUS: dict[str, list] = {}


@dataclass
class MenuItemDescription:
    name: str = ""
    onclick_fn: Callable | None = None
    ticked: bool = False
    ticked_fn: Callable | None = None
    sub_menu: list = field(default_factory=list)


def add_menu_items(menu_list: list, name: str, menu_index: int = 0, can_rebuild_menus: bool = True,
                   delegate=None):
    MENUS.setdefault(name, []).extend(menu_list)
    return menu_list


def remove_menu_items(menu_list: list, name: str, can_rebuild_menus: bool = True):
    for item in menu_list:
        if item in MENUS.get(name, []):
            MENUS[name].remove(item)
